parts = []
for i in range(200000):
    parts += [f"item-{i}"]
text = ",".join(parts)
print(len(text))
