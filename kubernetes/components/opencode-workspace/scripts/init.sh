#!/bin/sh
# Workspace init step. The pod's init container runs it before OpenCode starts, as the workspace user, with the
# workspace volume as HOME. It
#   1. clones WORKSPACE_GIT_REPOSITORY into WORKSPACE_DIR when no usable clone is there; an existing clone is never
#      reset, cleaned or re-cloned, so uncommitted work survives every restart;
#   2. fast-forwards that clone when WORKSPACE_GIT_PULL is "enabled" and doing so cannot touch local work;
#   3. seeds OpenCode's auth.json from the Secret's Copilot login when it is absent or the Secret changed since the
#      last seed, so a login done inside the workspace survives restarts.
# The git token reaches git only through the credential helper beside this script, which reads the mounted Secret
# file when git asks: it is never in a URL, an argument list, the output, .git/config or any file on the volume.
#
# Inputs (environment): HOME, WORKSPACE_DIR, WORKSPACE_GIT_REPOSITORY, WORKSPACE_GIT_PULL, GIT_TOKEN_FILE,
# COPILOT_AUTH_FILE, and the helper wired in by GIT_CONFIG_COUNT/GIT_CONFIG_KEY_0/GIT_CONFIG_VALUE_0.
# Exit status: 0 when the workspace can start, 1 when it cannot (the message says why and what to do).
#
# POSIX sh: it runs under busybox ash (alpine/git) and dash. This file becomes a ConfigMap that Flux substitutes, so
# it never contains a dollar sign followed by an opening brace: no default-value expansions, hence no `set -u`
# (optional variables may be unset), and every failure is handled where it happens instead of by `set -e`.
# No `set -x`: nothing here may echo a secret.

umask 077
# git's messages are matched below: keep them untranslated.
export LC_ALL=C
# Without a usable token git must fail at once, not wait for a terminal prompt nobody will answer.
export GIT_TERMINAL_PROMPT=0
# A transfer that stalls below 1 kB/s for a minute is given up rather than holding the pod's start forever.
export GIT_HTTP_LOW_SPEED_LIMIT=1000
export GIT_HTTP_LOW_SPEED_TIME=60

say() { printf 'init: %s\n' "$*"; }
warn() { printf 'init: warning: %s\n' "$*" >&2; }
fail() {
  printf 'init: error: %s\n' "$*" >&2
  exit 1
}

# Centiseconds since boot: busybox date has no sub-second format, /proc/uptime does.
now_cs() {
  IFS='. ' read -r up_s up_cs _rest 2>/dev/null </proc/uptime || up_s=0 up_cs=00
  # "1" in front keeps a leading zero (e.g. "08") from being read as an octal number.
  echo $((up_s * 100 + 1$up_cs - 100))
}
started_cs=$(now_cs)

# Time since the centisecond mark $1, as "1.23s".
since() {
  spent=$(($(now_cs) - $1))
  printf '%d.%02ds' $((spent / 100)) $((spent % 100))
}

# The URL with any user or password part removed: for messages only.
redact_url() { printf '%s\n' "$1" | sed -e 's|://[^/@]*@|://|'; }

# ---------------------------------------------------------------------------------------------------------- inputs

command -v git >/dev/null || fail "git is not installed in this image: the init container needs an image with git"
[ -n "$HOME" ] || fail "HOME is not set: it must be the mount path of the workspace volume"
[ -d "$HOME" ] || fail "HOME=$HOME does not exist: the workspace volume is not mounted there"
# A real write, not `test -w`: that answers yes for root and cannot see a read-only mount reliably.
write_probe="$HOME/.opencode-workspace-write-test"
if ! (printf 'ok' >"$write_probe") 2>/dev/null; then
  fail "the workspace volume at $HOME is not writable by uid $(id -u) gid $(id -g): it is mounted read-only or \
owned by another user; check the pod's fsGroup and the volume's mount, then restart the pod"
fi
rm -f "$write_probe"

[ -n "$WORKSPACE_DIR" ] || fail "WORKSPACE_DIR is not set: give the clone's absolute path in the workspace's \
postBuild.substitute"
case $WORKSPACE_DIR in
  /*) ;;
  *) fail "WORKSPACE_DIR=$WORKSPACE_DIR is not an absolute path: give the clone's absolute path" ;;
esac
# One spelling of the path (no doubled or trailing slashes), so that it compares and renames predictably.
WORKSPACE_DIR=$(printf '%s\n' "$WORKSPACE_DIR" | sed -e 's|//*|/|g' -e 's|/$||')
case $WORKSPACE_DIR in
  "" | "$HOME" | "$HOME/")
    fail "WORKSPACE_DIR must be a directory of its own on the workspace volume, below HOME=$HOME; it is \
'$WORKSPACE_DIR'"
    ;;
esac
workspace_parent=$(dirname "$WORKSPACE_DIR")
workspace_name=$(basename "$WORKSPACE_DIR")
# git must judge WORKSPACE_DIR itself, never a repository it would find further up the tree.
export GIT_CEILING_DIRECTORIES="$workspace_parent"

repo_url=$WORKSPACE_GIT_REPOSITORY
repo_authority=$(printf '%s\n' "$repo_url" | sed -n 's|^[A-Za-z][A-Za-z0-9+.-]*://\([^/]*\).*|\1|p')
case $repo_authority in
  *@*)
    # Checked before the URL is printed anywhere: it may hold a token.
    fail "WORKSPACE_GIT_REPOSITORY has a user name or password in it: give the plain https URL; the token comes \
from the workspace Secret through the credential helper"
    ;;
esac

# "enabled"/"disabled" rather than true/false: Flux substitution would turn an unquoted true into a YAML boolean.
case $WORKSPACE_GIT_PULL in
  enabled | true) pull_on_start=true ;;
  disabled | false | "") pull_on_start=false ;;
  *)
    warn "WORKSPACE_GIT_PULL='$WORKSPACE_GIT_PULL' is neither enabled nor disabled: not pulling"
    pull_on_start=false
    ;;
esac

token_is_present() { [ -n "$GIT_TOKEN_FILE" ] && [ -r "$GIT_TOKEN_FILE" ] && [ -s "$GIT_TOKEN_FILE" ]; }

# ----------------------------------------------------------------------------------------------- git failures

# One line explaining why git failed ($1: what git was doing, $2: its stderr), ending with git's own last word on it.
explain_git_failure() {
  detail=$(printf '%s\n' "$2" | grep -E '^(fatal|error):' | tail -n 1)
  [ -n "$detail" ] || detail=$(printf '%s\n' "$2" | grep -v '^[[:space:]]*$' | tail -n 1)
  detail=$(redact_url "$detail")
  # git never prints the token; should that ever change, its words are withheld rather than printed.
  if token_is_present && printf '%s\n' "$detail" | grep -qF -f "$GIT_TOKEN_FILE"; then
    detail="(git's message withheld: it contained the token)"
  fi
  lowered=$(printf '%s\n' "$2" | tr '[:upper:]' '[:lower:]')
  case $lowered in
    *"authentication failed"* | *"could not read username"* | *"could not read password"* | \
      *"invalid username or password"* | *" 401"* | *" 403"*)
      if token_is_present; then
        why="the server refused the token: it is wrong, expired or has no read access to the repository; renew \
the PAT behind GITHUB_TOKEN in the workspace Secret and restart the pod"
      else
        why="the repository needs a token and GIT_TOKEN_FILE ('$GIT_TOKEN_FILE') is missing or empty; put the PAT \
into GITHUB_TOKEN of the workspace Secret and restart the pod"
      fi
      ;;
    *"repository not found"* | *"repository '"*"' not found"*)
      why="the repository was not found, or the token cannot see it: check WORKSPACE_GIT_REPOSITORY and the \
token's repository access"
      ;;
    *"could not resolve"* | *"failed to connect"* | *"connection refused"* | *"timed out"* | \
      *"network is unreachable"* | *"no route to host"* | *"operation too slow"*)
      why="cannot reach $repo_authority: check the cluster's DNS and egress to it; the next start tries again"
      ;;
    *"ssl"* | *"certificate"* | *"tls"*)
      why="the TLS connection to $repo_authority failed: check the URL and the host's certificate"
      ;;
    *"no space left on device"* | *"disk quota exceeded"*)
      why="the workspace volume is full: free space on it or grow it (VOLSYNC_CAPACITY), then restart the pod"
      ;;
    *"permission denied"* | *"read-only file system"*)
      why="git cannot write under $workspace_parent: it must be on the workspace volume and writable by uid \
$(id -u)"
      ;;
    *) why="git $1 failed" ;;
  esac
  printf '%s [git: %s]' "$why" "$detail"
}

# ------------------------------------------------------------------------------------------------- the clone

# What is at WORKSPACE_DIR, as one word in `workspace_state`:
#   absent        nothing: clone
#   empty-dir     an empty directory (a mount point, a mkdir): clone into it, nothing to keep
#   unfinished    a repository with no commit, no ref, nothing staged and no file: a clone that never finished
#                 (or of an empty repository); it holds nothing of anyone's, so it is replaced by a fresh clone
#   no-commits    a repository without commits that holds files, staged work or refs: kept as it is
#   foreign-owner another user owns it (git refuses it, or this user cannot even read it): stop, change nothing
#   not-a-clone   anything else (files without a repository, a repository git cannot open): moved aside, never
#                 deleted, to WORKSPACE_DIR.before-clone-<UTC time>, and a fresh clone takes its place
inspect_workspace() {
  if [ ! -e "$WORKSPACE_DIR" ] && [ ! -L "$WORKSPACE_DIR" ]; then
    workspace_state=absent
    return
  fi
  if [ -d "$WORKSPACE_DIR" ] && { [ ! -r "$WORKSPACE_DIR" ] || [ ! -x "$WORKSPACE_DIR" ]; }; then
    workspace_state=foreign-owner
    return
  fi
  if [ -d "$WORKSPACE_DIR" ] && [ ! -L "$WORKSPACE_DIR" ] && [ -z "$(ls -A "$WORKSPACE_DIR")" ]; then
    workspace_state=empty-dir
    return
  fi
  if [ -d "$WORKSPACE_DIR" ] && [ -e "$WORKSPACE_DIR/.git" ]; then
    # git will not work in a repository another user owns; neither will this step touch it.
    if [ "$(stat -c %u "$WORKSPACE_DIR")" != "$(id -u)" ] || [ "$(stat -c %u "$WORKSPACE_DIR/.git")" != "$(id -u)" ]
    then
      workspace_state=foreign-owner
      return
    fi
    if git_error=$(git -C "$WORKSPACE_DIR" rev-parse --git-dir 2>&1 >/dev/null); then
      if [ -n "$(git -C "$WORKSPACE_DIR" for-each-ref --count=1 2>/dev/null)" ] ||
        [ -n "$(git -C "$WORKSPACE_DIR" ls-files --cached 2>/dev/null | head -n 1)" ] ||
        [ "$(ls -A "$WORKSPACE_DIR")" != ".git" ]; then
        workspace_state=no-commits
      else
        workspace_state=unfinished
      fi
      return
    fi
    case $git_error in
      *"dubious ownership"*)
        workspace_state=foreign-owner
        return
        ;;
    esac
  fi
  workspace_state=not-a-clone
}

clone_workspace() {
  [ -n "$repo_url" ] || fail "WORKSPACE_GIT_REPOSITORY is not set: there is no repository to clone into \
$WORKSPACE_DIR"
  mkdir -p "$workspace_parent" 2>/dev/null || fail "cannot create $workspace_parent: WORKSPACE_DIR must be on the \
workspace volume (below HOME=$HOME), which must be writable"
  # The clone is built beside its final place and renamed into it: a start that is killed mid-clone leaves only
  # this directory, which the next start removes, never a half repository at WORKSPACE_DIR.
  staging="$workspace_parent/.$workspace_name.clone-in-progress"
  if [ -e "$staging" ] || [ -L "$staging" ]; then
    say "removing $staging, an unfinished clone left by an interrupted start"
    rm -rf "$staging" || fail "cannot remove the unfinished clone $staging: remove it by hand, then restart the pod"
  fi
  token_is_present || warn "GIT_TOKEN_FILE ('$GIT_TOKEN_FILE') is missing or empty: cloning without a token, \
which works only for a public repository"

  say "cloning $repo_url into $WORKSPACE_DIR"
  clone_started_cs=$(now_cs)
  if ! git_error=$(git clone --quiet --no-progress -- "$repo_url" "$staging" 2>&1 >/dev/null); then
    rm -rf "$staging"
    fail "cloning $repo_url failed after $(since "$clone_started_cs"): $(explain_git_failure clone "$git_error")"
  fi

  # From here on a failure must not leave the finished clone behind as if it were an interrupted one.
  fail_after_clone() {
    rm -rf "$staging"
    fail "$@"
  }
  case $workspace_state in
    empty-dir)
      rmdir "$WORKSPACE_DIR" || fail_after_clone "cannot replace the empty directory $WORKSPACE_DIR (a mount \
point?): WORKSPACE_DIR must be a plain directory on the workspace volume"
      ;;
    unfinished)
      rm -rf "$WORKSPACE_DIR" ||
        fail_after_clone "cannot remove the unfinished clone at $WORKSPACE_DIR: remove it by hand, then restart the pod"
      say "replaced the unfinished clone at $WORKSPACE_DIR (it held no commit, ref or file)"
      ;;
    not-a-clone)
      kept_as="$WORKSPACE_DIR.before-clone-$(date -u +%Y%m%dT%H%M%SZ)"
      suffix=1
      while [ -e "$kept_as" ]; do
        kept_as="$WORKSPACE_DIR.before-clone-$(date -u +%Y%m%dT%H%M%SZ)-$suffix"
        suffix=$((suffix + 1))
      done
      mv "$WORKSPACE_DIR" "$kept_as" ||
        fail_after_clone "cannot move $WORKSPACE_DIR aside to $kept_as: move it by hand, then restart the pod"
      say "$WORKSPACE_DIR was not a usable git clone: its contents are kept, untouched, in $kept_as"
      ;;
  esac
  if [ -e "$WORKSPACE_DIR" ] || [ -L "$WORKSPACE_DIR" ]; then
    fail_after_clone "$WORKSPACE_DIR appeared while cloning: another process is writing there; restart the pod"
  fi
  mv "$staging" "$WORKSPACE_DIR" || fail_after_clone "cannot move the new clone from $staging to $WORKSPACE_DIR"

  if cloned_head=$(git -C "$WORKSPACE_DIR" rev-parse --quiet --verify --short HEAD); then
    say "cloned $repo_url into $WORKSPACE_DIR at $cloned_head in $(since "$clone_started_cs")"
  else
    say "cloned $repo_url into $WORKSPACE_DIR in $(since "$clone_started_cs"): the repository has no commits yet"
  fi
}

# Fast-forward only, and only a clean tree: local commits, staged or modified files and untracked files that an
# update would overwrite all stop it, with a message, and the clone stays exactly as it was. A failed fetch (no
# network, a revoked token) does not stop the workspace from starting with the clone it has.
pull_workspace() {
  if ! branch=$(git -C "$WORKSPACE_DIR" symbolic-ref --quiet --short HEAD); then
    say "not pulling: HEAD is detached in $WORKSPACE_DIR"
    return 0
  fi
  if ! upstream=$(git -C "$WORKSPACE_DIR" rev-parse --abbrev-ref --symbolic-full-name '@{upstream}' 2>/dev/null)
  then
    say "not pulling: branch $branch has no upstream branch"
    return 0
  fi
  fetch_started_cs=$(now_cs)
  if ! git_error=$(git -C "$WORKSPACE_DIR" fetch --quiet --no-progress 2>&1 >/dev/null); then
    warn "not pulling: fetching $branch's upstream failed after $(since "$fetch_started_cs"): \
$(explain_git_failure fetch "$git_error"); starting with the clone as it is"
    return 0
  fi
  if ! behind=$(git -C "$WORKSPACE_DIR" rev-list --count "HEAD..$upstream" 2>/dev/null); then
    say "not pulling: $upstream is gone from the remote; $branch is left as it is"
    return 0
  fi
  if [ "$behind" = 0 ]; then
    say "pull: $branch is up to date with $upstream"
    return 0
  fi
  if [ -n "$(git -C "$WORKSPACE_DIR" status --porcelain --untracked-files=no)" ]; then
    say "not pulling: $WORKSPACE_DIR has uncommitted changes, left as they are; $upstream is $behind commit(s) \
ahead (fetched; merge it by hand)"
    return 0
  fi
  if ! git_error=$(git -C "$WORKSPACE_DIR" merge --ff-only --quiet "$upstream" 2>&1 >/dev/null); then
    reason=$(printf '%s\n' "$git_error" | grep -E '^(fatal|error):' | tail -n 1)
    case $(printf '%s\n' "$git_error" | tr '[:upper:]' '[:lower:]') in
      *"untracked working tree files would be overwritten"*)
        say "not pulling: untracked files in $WORKSPACE_DIR would be overwritten by $upstream; nothing changed" ;;
      *"not possible to fast-forward"* | *"not a fast-forward"* | *"diverging branches"*)
        say "not pulling: $branch has commits that are not on $upstream (not a fast-forward); nothing changed" ;;
      *)
        warn "not pulling: git could not fast-forward $branch; the clone is left as it is [git: $reason]" ;;
    esac
    return 0
  fi
  say "pull: fast-forwarded $branch by $behind commit(s) from $upstream in $(since "$fetch_started_cs")"
}

# ---------------------------------------------------------------------------------------- Copilot auth seeding

# Why the auth document in file $1 cannot be seeded, as the end of a sentence; nothing when it can. A full JSON
# syntax check (there is no jq in the image): a broken auth.json would cost a working login. The words never
# quote the document: it holds tokens.
copilot_auth_problem() {
  awk '
    function bad(message) { if (problem == "") problem = message; return 0 }
    function skip_space() { while (pos <= len && index(" \t\r\n", substr(doc, pos, 1)) > 0) pos++ }
    function note(path, what, value) {
      if (path == "/github-copilot" || path == "/github-copilot/type" || path == "/github-copilot/refresh") {
        kind[path] = what
        text[path] = value
      }
    }
    function parse_string(    c, escaped, out) {
      pos++
      out = ""
      while (pos <= len) {
        c = substr(doc, pos, 1)
        if (c == "\"") { pos++; string_value = out; return 1 }
        if (c == "\n") return bad("a line break inside a string at byte " pos)
        if (c == "\\") {
          escaped = substr(doc, pos + 1, 1)
          if (escaped == "u") {
            if (substr(doc, pos + 2, 4) !~ /^[0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f]$/)
              return bad("a broken \\u escape at byte " pos)
            out = out "?"
            pos += 6
            continue
          }
          if (escaped == "" || index("\"\\/bfnrt", escaped) == 0) return bad("a broken escape at byte " pos)
          out = out escaped
          pos += 2
          continue
        }
        out = out c
        pos++
      }
      return bad("a string that never ends")
    }
    function parse_value(path,    c) {
      skip_space()
      if (pos > len) return bad("the document is cut short")
      c = substr(doc, pos, 1)
      if (c == "{") return parse_object(path)
      if (c == "[") return parse_array(path)
      if (c == "\"") {
        if (!parse_string()) return 0
        note(path, "string", string_value)
        return 1
      }
      if (substr(doc, pos, 4) == "true" || substr(doc, pos, 4) == "null") {
        pos += 4
        note(path, "literal", "")
        return 1
      }
      if (substr(doc, pos, 5) == "false") {
        pos += 5
        note(path, "literal", "")
        return 1
      }
      if (match(substr(doc, pos), /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/)) {
        pos += RLENGTH
        note(path, "number", "")
        return 1
      }
      return bad("an unexpected character at byte " pos)
    }
    function parse_object(path,    key) {
      pos++
      note(path, "object", "")
      skip_space()
      if (substr(doc, pos, 1) == "}") { pos++; return 1 }
      while (1) {
        skip_space()
        if (substr(doc, pos, 1) != "\"") return bad("a missing key at byte " pos)
        if (!parse_string()) return 0
        key = string_value
        skip_space()
        if (substr(doc, pos, 1) != ":") return bad("a missing colon at byte " pos)
        pos++
        if (!parse_value(path "/" key)) return 0
        skip_space()
        if (pos > len) return bad("the document is cut short")
        if (substr(doc, pos, 1) == ",") { pos++; continue }
        if (substr(doc, pos, 1) == "}") { pos++; return 1 }
        return bad("a missing comma or closing brace at byte " pos)
      }
    }
    function parse_array(path,    i) {
      pos++
      note(path, "array", "")
      skip_space()
      if (substr(doc, pos, 1) == "]") { pos++; return 1 }
      for (i = 0; ; i++) {
        if (!parse_value(path "[" i "]")) return 0
        skip_space()
        if (pos > len) return bad("the document is cut short")
        if (substr(doc, pos, 1) == ",") { pos++; continue }
        if (substr(doc, pos, 1) == "]") { pos++; return 1 }
        return bad("a missing comma or closing bracket at byte " pos)
      }
    }
    { doc = doc $0 "\n" }
    END {
      len = length(doc)
      pos = 1
      problem = ""
      skip_space()
      if (substr(doc, pos, 1) != "{") { print "is not a JSON object (an auth.json document)"; exit }
      if (parse_value("")) {
        skip_space()
        if (pos <= len) bad("text after the document at byte " pos)
      }
      if (problem != "") { print "is not valid JSON (" problem ")"; exit }
      if (kind["/github-copilot"] != "object") { print "has no \"github-copilot\" entry"; exit }
      if (kind["/github-copilot/refresh"] != "string" || text["/github-copilot/refresh"] == "") {
        print "has a \"github-copilot\" entry without a \"refresh\" token"
        exit
      }
      if (text["/github-copilot/type"] != "oauth") {
        print "has a \"github-copilot\" entry whose \"type\" is not \"oauth\""
        exit
      }
    }
  ' <"$1"
}

sha256_of() {
  digest=$(sha256sum <"$1") || return 1
  set -- $digest
  printf '%s' "$1"
}

# Written when auth.json is absent, or when the Secret's document differs from the one last seeded (its hash is
# kept beside OpenCode's state); otherwise auth.json is left alone, so a login done in the workspace survives.
# A missing or unusable Secret value never stops the workspace: it starts without Copilot and says why.
seed_copilot_auth() {
  auth_dir="$HOME/.local/share/opencode"
  auth_file="$auth_dir/auth.json"
  seed_state_dir="$HOME/.local/state/opencode-workspace"
  seeded_hash_file="$seed_state_dir/copilot-auth.sha256"
  source_file=$COPILOT_AUTH_FILE
  fix="run scripts/seed-copilot-auth.sh where you are logged in to Copilot, then restart the pod"

  if [ -z "$source_file" ]; then
    say "Copilot not seeded: COPILOT_AUTH_FILE is not set"
    return 0
  fi
  if [ ! -e "$source_file" ]; then
    say "Copilot not seeded: $source_file does not exist (no COPILOT_AUTH_JSON in the workspace Secret); $fix"
    return 0
  fi
  if [ ! -r "$source_file" ]; then
    say "Copilot not seeded: $source_file is not readable by uid $(id -u); check the Secret mount's mode"
    return 0
  fi
  if [ ! -s "$source_file" ]; then
    say "Copilot not seeded: COPILOT_AUTH_JSON in the workspace Secret is empty; $fix"
    return 0
  fi

  secret_hash=$(sha256_of "$source_file")
  seeded_hash=""
  [ -f "$seeded_hash_file" ] && read -r seeded_hash <"$seeded_hash_file"
  if [ -f "$auth_file" ] && [ "$secret_hash" = "$seeded_hash" ]; then
    say "Copilot auth: the Secret has not changed since it was seeded; $auth_file left as it is"
    return 0
  fi

  problem=$(copilot_auth_problem "$source_file")
  if [ -n "$problem" ]; then
    say "Copilot not seeded: COPILOT_AUTH_JSON in the workspace Secret $problem; $auth_file left as it is; $fix"
    return 0
  fi

  if ! mkdir -p "$auth_dir" "$seed_state_dir" 2>/dev/null; then
    warn "Copilot not seeded: cannot create $auth_dir or $seed_state_dir on the workspace volume"
    return 0
  fi
  kept_note=""
  if [ -f "$auth_file" ]; then
    reason="the Secret changed since the last seed"
    current_hash=$(sha256_of "$auth_file")
    if [ "$current_hash" != "$seeded_hash" ] && [ "$current_hash" != "$secret_hash" ]; then
      # The file was changed in the workspace (a login there, another provider added): keep a copy, lose nothing.
      rm -f "$auth_file.before-seed.tmp"
      if cat "$auth_file" >"$auth_file.before-seed.tmp" && mv -f "$auth_file.before-seed.tmp" "$auth_file.before-seed"
      then
        kept_note="; the replaced file, changed in the workspace since the last seed, is kept as $auth_file.before-seed"
      else
        rm -f "$auth_file.before-seed.tmp"
        warn "Copilot not seeded: cannot keep a copy of the current $auth_file, so it is left as it is"
        return 0
      fi
    fi
  else
    reason="there was none"
  fi

  # Written beside the target and renamed over it: OpenCode never reads a half-written file.
  staged="$auth_file.seeding"
  rm -f "$staged"
  if ! { cat "$source_file" >"$staged" && chmod 600 "$staged" && mv -f "$staged" "$auth_file"; }; then
    rm -f "$staged"
    warn "Copilot not seeded: writing $auth_file failed"
    return 0
  fi
  rm -f "$seeded_hash_file.tmp"
  if ! { printf '%s\n' "$secret_hash" >"$seeded_hash_file.tmp" && mv -f "$seeded_hash_file.tmp" "$seeded_hash_file"; }
  then
    warn "could not record which Copilot auth was seeded: the next start seeds it again"
  fi
  say "Copilot auth seeded into $auth_file from the workspace Secret ($reason)$kept_note"
}

# ------------------------------------------------------------------------------------------------------ main

# The common case, a start on a populated volume, costs one git call.
if [ -e "$WORKSPACE_DIR/.git" ] &&
  head=$(git -C "$WORKSPACE_DIR" rev-parse --quiet --verify --short HEAD 2>/dev/null); then
  say "repository present at $WORKSPACE_DIR (HEAD $head): not cloning"
  workspace_state=present
else
  inspect_workspace
  case $workspace_state in
    foreign-owner)
      owner=$(stat -c '%u (mode %a)' "$WORKSPACE_DIR")
      fail "$WORKSPACE_DIR belongs to uid $owner and this step runs as uid $(id -u): git will not use it; nothing \
was changed; give the files to uid $(id -u) (chown -R) or fix the pod's runAsUser, then restart the pod"
      ;;
    no-commits)
      say "repository present at $WORKSPACE_DIR, without commits yet: kept as it is, not cloning"
      ;;
    *)
      clone_workspace
      workspace_state=cloned
      ;;
  esac
fi

if [ "$workspace_state" = present ] && [ -n "$repo_url" ]; then
  origin_url=$(git -C "$WORKSPACE_DIR" config --get remote.origin.url)
  if [ -n "$origin_url" ] && [ "$origin_url" != "$repo_url" ]; then
    warn "the clone's origin is $(redact_url "$origin_url"), not WORKSPACE_GIT_REPOSITORY=$repo_url: the clone is \
kept as it is, and the token is offered only to $repo_authority"
  fi
fi

if [ "$pull_on_start" = true ] && [ "$workspace_state" = present ]; then
  pull_workspace
fi

seed_copilot_auth

say "done in $(since "$started_cs")"
