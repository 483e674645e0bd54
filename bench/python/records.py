def main():
    cycle = ["rwx", "r-x", "--x"]
    records = []
    for i in range(300000):
        records.append({"name": f"entry-{i}", "perms": cycle[i % 3], "id": i})
    count = 0
    for r in records:
        if r["perms"] == "rwx":
            count += 1
    print(count)


main()
