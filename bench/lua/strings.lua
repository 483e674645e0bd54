local parts = {}
for i = 0, 199999 do
  parts[#parts + 1] = "item-" .. i
end
local text = table.concat(parts, ",")
print(#text)
