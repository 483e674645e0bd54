def main():
    parts = []
    for i in range(200000):
        parts.append(f"item-{i}")
    text = ",".join(parts)
    print(len(text))


main()
