local cycle = {"rwx", "r-x", "--x"}
local records = {}
for i = 0, 299999 do
  records[#records + 1] = {name = "entry-" .. i, perms = cycle[i % 3 + 1], id = i}
end
local count = 0
for _, r in ipairs(records) do
  if r.perms == "rwx" then count = count + 1 end
end
print(count)
