# Why a Copilot login document (auth.json, read with jq --slurp) is unusable, or nothing when it is usable: the rules
# of ocw's own check (src/ocw/secrets/copilot.py), in the same order. Nothing of the document is ever printed.
def blank: type != "string" or gsub("\\s"; "") == "";
if length != 1 or (.[0] | type) != "object" then "is not a JSON object (an auth.json document)"
elif (.[0] | has("github-copilot")) | not then "has no \"github-copilot\" entry"
else
  .[0]["github-copilot"] as $entry
  | if ($entry | type) != "object" then "has a \"github-copilot\" entry that is not an object"
    elif $entry.type != "oauth" then "has a \"github-copilot\" entry whose \"type\" is not \"oauth\""
    elif ($entry.refresh | blank) then "has a \"github-copilot\" entry without a \"refresh\" token"
    elif ($entry | has("access")) and ($entry.access | type) != "string" then
      "has a \"github-copilot\" entry whose \"access\" is not a string"
    elif ($entry | has("expires")) and ($entry.expires | type) != "number" then
      "has a \"github-copilot\" entry whose \"expires\" is not a number"
    elif $entry.enterpriseUrl != null and ($entry.enterpriseUrl | blank) then
      "has a \"github-copilot\" entry with a blank \"enterpriseUrl\""
    else empty end
end
