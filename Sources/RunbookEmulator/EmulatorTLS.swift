import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import X509

/// The certificate and key the emulator serves HTTPS with: generated (a
/// private CA and a loopback server certificate it signs) or read from files.
public struct EmulatorTLS: Sendable {
  /// The server certificate first, then any intermediates.
  public let certificateChain: [NIOSSLCertificate]
  public let privateKey: NIOSSLPrivateKey
  /// The PEM file a client trusts (`REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`):
  /// the generated CA, or the given certificate file.
  public let trustFile: String

  /// Reads a PEM certificate chain and its PEM private key.
  public init(certificateFile: String, keyFile: String) throws(EmulatorError) {
    do {
      certificateChain = try NIOSSLCertificate.fromPEMFile(certificateFile)
      privateKey = try NIOSSLPrivateKey(file: keyFile, format: .pem)
    } catch {
      throw EmulatorError("cannot read the TLS certificate `\(certificateFile)` or key `\(keyFile)`: \(error)")
    }
    guard !certificateChain.isEmpty else { throw EmulatorError("`\(certificateFile)` holds no PEM certificate") }
    trustFile = certificateFile
  }

  /// Generates a CA (valid one year) and a server certificate for
  /// `localhost`, 127.0.0.1 and ::1 signed by it (P-256 keys), and writes
  /// `ca.pem`, `server.pem` (server certificate + CA) and `server-key.pem`
  /// into `directory`. A client that trusts `ca.pem` accepts the server.
  public static func generate(directory: String, now: Date = Date()) throws(EmulatorError) -> EmulatorTLS {
    do {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
      let caKey = P256.Signing.PrivateKey()
      let caPublic = Certificate.PublicKey(caKey.publicKey)
      let caName = try DistinguishedName {
        OrganizationName("runbook")
        CommonName("runbook emulator CA")
      }
      let caKeyID = keyIdentifier(caKey.publicKey)
      let ca = try Certificate(
        version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: caPublic,
        notValidBefore: now - 3600, notValidAfter: now + 365 * 86400, issuer: caName, subject: caName,
        signatureAlgorithm: .ecdsaWithSHA256,
        extensions: try Certificate.Extensions {
          Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
          Critical(KeyUsage(keyCertSign: true, cRLSign: true))
          SubjectKeyIdentifier(keyIdentifier: caKeyID)
        },
        issuerPrivateKey: Certificate.PrivateKey(caKey))

      let serverKey = P256.Signing.PrivateKey()
      let serverName = try DistinguishedName {
        OrganizationName("runbook")
        CommonName("localhost")
      }
      let server = try Certificate(
        version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(serverKey.publicKey),
        notValidBefore: now - 3600, notValidAfter: now + 365 * 86400, issuer: caName, subject: serverName,
        signatureAlgorithm: .ecdsaWithSHA256,
        extensions: try Certificate.Extensions {
          Critical(BasicConstraints.notCertificateAuthority)
          Critical(KeyUsage(digitalSignature: true))
          try ExtendedKeyUsage([.serverAuth])
          SubjectKeyIdentifier(keyIdentifier: keyIdentifier(serverKey.publicKey))
          AuthorityKeyIdentifier(keyIdentifier: caKeyID)
          SubjectAlternativeNames([
            .dnsName("localhost"),
            .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
            .ipAddress(ASN1OctetString(contentBytes: ArraySlice([UInt8](repeating: 0, count: 15) + [1]))),
          ])
        },
        issuerPrivateKey: Certificate.PrivateKey(caKey))

      let caPEM = try ca.serializeAsPEM().pemString + "\n"
      let serverPEM = try server.serializeAsPEM().pemString + "\n" + caPEM
      let keyPEM = serverKey.pemRepresentation + "\n"
      let dir = URL(fileURLWithPath: directory)
      let caFile = dir.appendingPathComponent("ca.pem")
      try Data(caPEM.utf8).write(to: caFile, options: .atomic)
      try Data(serverPEM.utf8).write(to: dir.appendingPathComponent("server.pem"), options: .atomic)
      let keyFile = dir.appendingPathComponent("server-key.pem")
      // The key is readable by its owner only.
      guard FileManager.default.createFile(atPath: keyFile.path, contents: Data(keyPEM.utf8), attributes: [.posixPermissions: 0o600])
      else { throw EmulatorError("cannot write `\(keyFile.path)`") }
      return EmulatorTLS(
        certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(serverPEM.utf8)),
        privateKey: try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem), trustFile: caFile.path)
    } catch let error as EmulatorError {
      throw error
    } catch {
      throw EmulatorError("cannot generate a TLS certificate in `\(directory)`: \(error)")
    }
  }

  private init(certificateChain: [NIOSSLCertificate], privateKey: NIOSSLPrivateKey, trustFile: String) {
    self.certificateChain = certificateChain; self.privateKey = privateKey; self.trustFile = trustFile
  }

  /// RFC 5280 §4.2.1.2 method 1: the SHA-1 of the public key bits.
  private static func keyIdentifier(_ key: P256.Signing.PublicKey) -> ArraySlice<UInt8> {
    ArraySlice(Insecure.SHA1.hash(data: key.x963Representation))
  }

  func serverContext() throws -> NIOSSLContext {
    var config = TLSConfiguration.makeServerConfiguration(
      certificateChain: certificateChain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
    config.applicationProtocols = ["http/1.1"]
    return try NIOSSLContext(configuration: config)
  }
}
