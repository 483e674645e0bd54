def main():
    m = {}
    for i in range(200000):
        m[f"k{i}"] = i
    total = 0
    for i in range(200000):
        total += m[f"k{i}"]
    print(total)


main()
