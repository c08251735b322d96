#!/bin/sh
# Workspace init step, run by the pod's init container as the workspace user with the volume as HOME: clones
# WORKSPACE_GIT_REPOSITORY into WORKSPACE_DIR when no usable clone is there (a clone is never reset or re-cloned),
# fast-forwards a clean clone when WORKSPACE_GIT_PULL is "enabled", and seeds the Secret's Copilot login into auth.json.
# It holds the token while the agent can write to the volume (docs/security.md): git ignores system and global config,
# hooks and helpers but ours, pulls only with plain settings, runs under time limits; files it reads or writes there
# must be regular. Inputs: the env names below. Exit 0 when the workspace can start, 1 when not (saying why and what to
# do). POSIX sh and tools (GNU and BSD alike), git, jq, mktemp. Flux substitutes it: never a dollar and a brace.
umask 077
export LC_ALL=C GIT_TERMINAL_PROMPT=0 GIT_HTTP_LOW_SPEED_LIMIT=1000 GIT_HTTP_LOW_SPEED_TIME=60
MAX_LOGIN_BYTES=1048576  # auth.json and the Secret's login: larger files are refused before jq reads them
LOCAL_LIMIT=30 FETCH_LIMIT=300 CLONE_LIMIT=900  # seconds a git call may take
scripts=$(cd "$(dirname "$0")" && pwd)

say() { printf 'init: %s\n' "$*"; }
warn() { printf 'init: warning: %s\n' "$*" >&2; }
fail() { printf 'init: error: %s\n' "$*" >&2; exit 1; }
now() { awk 'BEGIN { srand(); print srand() }'; }  # epoch seconds: srand() returns the seed (time of day) it replaces
since() { printf '%ss' "$(($(now) - $1))"; }
redact_url() { printf '%s\n' "$1" | sed -e 's|://[^/@]*@|://|'; }
exists() { [ -e "$1" ] || [ -L "$1" ]; }     # in any form, a dangling link included
regular() { [ -f "$1" ] && [ ! -L "$1" ]; }  # the only kind of file on the volume the step reads or replaces
size_of() { wc -c <"$1" | tr -d ' '; }       # of a regular file only: reading a FIFO would block
owner_of() { ls -ldn "$1" | awk '{ print $3 }'; }

# Runs "$@" for at most $1 seconds (status 143, SIGTERM's, when the limit ended it): a FIFO named in a config file or a
# stalled server cannot hold the pod. The watchdog and its nap end with it (they may hold output the shell saved).
limited() (
  limit=$1
  shift
  "$@" &
  pid=$!
  (trap 'kill "$nap"; exit' TERM
    while [ "$limit" -gt 0 ] && kill -0 "$pid"; do
      sleep 1 & nap=$!
      wait "$nap"
      limit=$((limit - 1))
    done
    [ "$limit" -gt 0 ] || kill -TERM "$pid") </dev/null >/dev/null 2>&1 &
  trap "kill $! 2>/dev/null" EXIT
  wait "$pid"
)
git_local() { limited "$LOCAL_LIMIT" git "$@"; }

started=$(now)
for tool in git jq mktemp; do command -v "$tool" >/dev/null || fail "$tool is not installed in this image"; done
[ -n "$HOME" ] || fail "HOME is not set: it must be the mount path of the workspace volume"
[ -d "$HOME" ] || fail "HOME=$HOME does not exist: the workspace volume is not mounted there"
# A real write to a fresh name: `test -w` misses a read-only mount, and a name of ours could be the agent's FIFO.
probe=$(mktemp "$HOME/.opencode-workspace-write-test.XXXXXX" 2>/dev/null) ||
  fail "the workspace volume at $HOME is not writable by uid $(id -u) gid $(id -g): check fsGroup and the mount"
rm -f "$probe"
[ -n "$WORKSPACE_DIR" ] || fail "WORKSPACE_DIR is not set: give the clone's absolute path in postBuild.substitute"
case $WORKSPACE_DIR in /*) ;; *) fail "WORKSPACE_DIR=$WORKSPACE_DIR is not an absolute path: give the full path" ;; esac
WORKSPACE_DIR=$(printf '%s\n' "$WORKSPACE_DIR" | sed -e 's|//*|/|g' -e 's|/$||')
case $WORKSPACE_DIR in
  "" | "$HOME" | "$HOME/") fail "WORKSPACE_DIR must be a directory of its own on the workspace volume, below HOME" ;;
esac
parent=$(dirname "$WORKSPACE_DIR")
staging="$parent/.$(basename "$WORKSPACE_DIR").clone-in-progress"
repo_url=$WORKSPACE_GIT_REPOSITORY
repo_authority=$(printf '%s\n' "$repo_url" | sed -n 's|^[A-Za-z][A-Za-z0-9+.-]*://\([^/]*\).*|\1|p')
case $repo_authority in *@*) fail "WORKSPACE_GIT_REPOSITORY has a user name or password in it: give it plain" ;; esac
case $WORKSPACE_GIT_PULL in
  enabled | true) pull=true ;;
  disabled | false | "") pull=false ;;
  *) warn "WORKSPACE_GIT_PULL='$WORKSPACE_GIT_PULL' is neither enabled nor disabled: not pulling"; pull=false ;;
esac

# git as this step runs it: nothing from /etc/gitconfig or ~/.gitconfig (a system config the container's env names,
# as ocw up does to trust a local source, counts), no hooks, no fsmonitor, no askpass, our helper alone (an empty
# credential.helper empties the list first), only the repository's protocol. Command-line scope outranks the rest.
protocol=$(printf '%s\n' "$repo_url" | sed -n 's|^\([A-Za-z][A-Za-z0-9+.-]*\)://.*|\1|p')
case $repo_url in /*) protocol=file ;; *) [ -n "$protocol" ] || protocol=ssh ;; esac
[ -n "$GIT_CONFIG_SYSTEM" ] || export GIT_CONFIG_NOSYSTEM=1
export GIT_CONFIG_GLOBAL=/dev/null GIT_ASKPASS='' SSH_ASKPASS='' GIT_CEILING_DIRECTORIES="$parent"
set -- core.hooksPath /dev/null core.fsmonitor false credential.helper '' credential.helper \
  "$scripts/git-credential-secret" protocol.allow never "protocol.$protocol.allow" always http.sslVerify true \
  merge.verifySignatures false
n=0
while [ $# -gt 1 ]; do export "GIT_CONFIG_KEY_$n=$1" "GIT_CONFIG_VALUE_$n=$2"; n=$((n + 1)); shift 2; done
export GIT_CONFIG_COUNT=$n
token_is_present() { [ -n "$GIT_TOKEN_FILE" ] && [ -f "$GIT_TOKEN_FILE" ] && [ -s "$GIT_TOKEN_FILE" ]; }

# One line saying why git failed ($1: what it did, $2: its stderr, $3: its status), with git's own last word on it.
explain_git_failure() (
  detail=$(printf '%s\n' "$2" | { grep -E '^(fatal|error):' || printf '%s\n' "$2" | grep -v '^[[:space:]]*$'; })
  detail=$(redact_url "$(printf '%s\n' "$detail" | tail -n 1)")
  token_is_present && printf '%s\n' "$detail" | grep -qF -f "$GIT_TOKEN_FILE" && detail="(withheld: it held the token)"
  renew="renew the PAT behind GITHUB_TOKEN in the workspace Secret and restart the pod"
  case $3:$(printf '%s\n' "$2" | tr '[:upper:]' '[:lower:]') in
    143:*) why="git $1 did not finish within its time limit: check the network to $repo_authority" ;;
    *"authentication failed"* | *"could not read username"* | *"could not read password"* | *"returned error: 40"[13]*)
      why="the server refused the token: it is wrong, expired or cannot read the repository; $renew"
      token_is_present || why="the repository needs a token and GIT_TOKEN_FILE ('$GIT_TOKEN_FILE') is empty; $renew" ;;
    *"repository not found"* | *"repository '"*"' not found"*)
      why="the repository was not found, or the token cannot see it" ;;
    *"could not resolve"* | *"failed to connect"* | *"refused"* | *"unreachable"* | *"timed out"* | *"too slow"*)
      why="cannot reach $repo_authority: check the cluster's DNS and egress to it; the next start tries again" ;;
    *"ssl"* | *"certificate"* | *"tls"*) why="the TLS connection to $repo_authority failed: check its certificate" ;;
    *"no space left on device"* | *"disk quota exceeded"*) why="the workspace volume is full: free space or grow it" ;;
    *"permission denied"* | *"read-only file system"*)
      why="git cannot write under $parent: it must be on the workspace volume and writable by uid $(id -u)" ;;
    *) why="git $1 failed" ;;
  esac
  printf '%s [git: %s]' "$why" "$detail"
)

# Why git must not run in the clone at all, or nothing: its config must be a regular file without includes, which
# git would follow into any file (a FIFO holds it forever). Read with --file from /, where git reads that one file.
clone_config_hazard() (
  config="$WORKSPACE_DIR/.git/config"
  if [ -L "$WORKSPACE_DIR/.git" ] || [ ! -d "$WORKSPACE_DIR/.git" ]; then echo "its .git is a link or a gitdir file"
  elif exists "$config" && ! regular "$config"; then echo "its .git/config is not a regular file"
  elif regular "$config"; then
    keys=$(cd / && git_local config --file "$config" --no-includes --name-only --list)
    printf '%s\n' "$keys" | grep -qiE '^include(if\..*)?\.path$' && echo "its .git/config includes other files"
  fi
)

# What is at WORKSPACE_DIR: absent, empty-dir, unfinished (a repository holding nothing: replaced), no-commits (a
# repository without commits that holds work: kept), foreign-owner (stop, change nothing) or not-a-clone (moved aside;
# also when git does not answer there, as when a file in .git blocks it).
inspect_workspace() (
  if ! exists "$WORKSPACE_DIR"; then echo absent; exit; fi
  [ -d "$WORKSPACE_DIR" ] || { echo not-a-clone; exit; }
  { [ -r "$WORKSPACE_DIR" ] && [ -x "$WORKSPACE_DIR" ]; } || { echo foreign-owner; exit; }
  if [ -z "$(ls -A "$WORKSPACE_DIR")" ] && [ ! -L "$WORKSPACE_DIR" ]; then echo empty-dir; exit; fi
  exists "$WORKSPACE_DIR/.git" || { echo not-a-clone; exit; }
  owners="$(owner_of "$WORKSPACE_DIR") $(owner_of "$WORKSPACE_DIR/.git")"
  [ "$owners" = "$(id -u) $(id -u)" ] || { echo foreign-owner; exit; }
  git_error=$(git_local -C "$WORKSPACE_DIR" rev-parse --git-dir 2>&1 >/dev/null)
  case $?:$git_error in
    0:*) ;;
    *"dubious ownership"*) echo foreign-owner; exit ;;
    *) echo not-a-clone; exit ;;
  esac
  refs=$(git_local -C "$WORKSPACE_DIR" for-each-ref --count=1 2>/dev/null)
  files=$(git_local -C "$WORKSPACE_DIR" ls-files --cached 2>/dev/null | head -n 1)
  [ -z "$refs$files" ] && [ "$(ls -A "$WORKSPACE_DIR")" = .git ] && echo unfinished || echo no-commits
)

# Cloned beside its place and renamed into it ($1: what inspect_workspace found): a start killed mid-clone leaves only
# the staging directory, and the place must be free (mv would move the clone into a directory that appeared there).
# Exits 1 (and so does the step) when it cannot clone.
clone_workspace() (
  abandon() { rm -rf "$staging"; fail "$@"; }
  [ -n "$repo_url" ] || fail "WORKSPACE_GIT_REPOSITORY is not set: there is no repository to clone into $WORKSPACE_DIR"
  mkdir -p "$parent" 2>/dev/null || fail "cannot create $parent: WORKSPACE_DIR must be on the (writable) volume"
  exists "$staging" && say "removing $staging, an unfinished clone left by an interrupted start"
  rm -rf "$staging" || fail "cannot remove the unfinished clone $staging: remove it by hand, then restart the pod"
  token_is_present || warn "GIT_TOKEN_FILE ('$GIT_TOKEN_FILE') is missing or empty: cloning without a token"
  say "cloning $repo_url into $WORKSPACE_DIR"
  clone_started=$(now)
  git_error=$(limited "$CLONE_LIMIT" git clone --quiet --no-progress -- "$repo_url" "$staging" 2>&1 >/dev/null) ||
    abandon "cloning $repo_url failed after $(since "$clone_started"): $(explain_git_failure clone "$git_error" $?)"
  case $1 in
    empty-dir) rmdir "$WORKSPACE_DIR" || abandon "cannot replace the empty directory $WORKSPACE_DIR (a mount point?)" ;;
    unfinished)
      rm -rf "$WORKSPACE_DIR" || abandon "cannot remove the unfinished clone at $WORKSPACE_DIR"
      say "replaced the unfinished clone at $WORKSPACE_DIR (it held no commit, ref or file)" ;;
    not-a-clone)
      kept="$WORKSPACE_DIR.before-clone-$(date -u +%Y%m%dT%H%M%SZ)" n=1
      while exists "$kept"; do kept="$kept-$n" n=$((n + 1)); done
      mv "$WORKSPACE_DIR" "$kept" || abandon "cannot move $WORKSPACE_DIR aside to $kept: move it by hand"
      say "$WORKSPACE_DIR was not a usable git clone: its contents are kept, untouched, in $kept" ;;
  esac
  exists "$WORKSPACE_DIR" && abandon "$WORKSPACE_DIR appeared while cloning: another process writes there; restart"
  mv "$staging" "$WORKSPACE_DIR" || abandon "cannot move the new clone from $staging to $WORKSPACE_DIR"
  head=$(git_local -C "$WORKSPACE_DIR" rev-parse --quiet --verify --short HEAD) || head="no commits yet"
  say "cloned $repo_url into $WORKSPACE_DIR at $head in $(since "$clone_started")"
)

# What makes a pull unsafe while the token is here ("<reason>; " each), or nothing: files in .git that change what git
# reads, runs or trusts, and any setting beyond the plain ones in any scope git reads but this step's own command
# line: a filter, URL rewrite, URL-scoped http setting, proxy or helper could run code or send the token elsewhere.
pull_hazards() (
  for name in config.worktree info/attributes objects/info/alternates commondir; do
    exists "$WORKSPACE_DIR/.git/$name" && printf '.git/%s exists; ' "$name"
  done
  keys=$(git_local -C "$WORKSPACE_DIR" config --list --show-scope --name-only) || { printf 'no config list; '; exit; }
  printf '%s\n' "$keys" | awk -F '\t' '$1 != "command" { print $2 }' | grep -Ev \
    -e '^core\.(repositoryformatversion|filemode|bare|logallrefupdates|ignorecase|precomposeunicode|symlinks)$' \
    -e '^remote\..+\.(url|fetch|pushurl|push|prune|tagopt)$' -e '^branch\..+\.(remote|merge|rebase|description)$' \
    -e '^(user|pull|push|advice|color|commit|tag|init|alias)\.[^.]+$' -e '^safe\.directory$' \
    -e '^extensions\.objectformat$' |
    sort -u | awk 'NF { printf "%s is set; ", $0 }'
)

# Fast-forward only, only a clean tree, only from WORKSPACE_GIT_REPOSITORY, and only without hazards. A failed fetch
# never stops the start. --prune drops branches gone upstream, so a renamed default branch is noticed.
pull_workspace() (
  hazards=$(pull_hazards)
  [ -z "$hazards" ] || { warn "not pulling: $hazards""the clone is kept as it is; pull by hand"; exit; }
  branch=$(git_local -C "$WORKSPACE_DIR" symbolic-ref -q --short HEAD) || { say "not pulling: HEAD is detached"; exit; }
  upstream=$(git_local -C "$WORKSPACE_DIR" rev-parse --abbrev-ref --symbolic-full-name '@{upstream}' 2>/dev/null) ||
    { say "not pulling: branch $branch has no upstream branch"; exit; }
  fetch_started=$(now)
  git_error=$(limited "$FETCH_LIMIT" git -C "$WORKSPACE_DIR" fetch --quiet --no-progress --prune -- "$repo_url" \
    '+refs/heads/*:refs/remotes/origin/*' 2>&1 >/dev/null) || {
    warn "not pulling: fetching failed after $(since "$fetch_started"): $(explain_git_failure fetch "$git_error" $?)"
    exit; }
  behind=$(git_local -C "$WORKSPACE_DIR" rev-list --count "HEAD..$upstream" 2>/dev/null) ||
    { say "not pulling: $upstream is gone from the remote (renamed or deleted); $branch is left as it is"; exit; }
  [ "$behind" = 0 ] && { say "pull: $branch is up to date with $upstream"; exit; }
  changes=$(git_local -C "$WORKSPACE_DIR" status --porcelain --untracked-files=no) || changes="unknown"
  [ -z "$changes" ] || { say "not pulling: uncommitted changes, left as they are ($upstream: +$behind)"; exit; }
  git_error=$(git_local -C "$WORKSPACE_DIR" merge --ff-only --quiet "$upstream" 2>&1 >/dev/null) && {
    say "pull: fast-forwarded $branch by $behind commit(s) from $upstream in $(since "$fetch_started")"; exit; }
  last=$(printf '%s\n' "$git_error" | grep -E '^(fatal|error):' | tail -n 1)
  case $(printf '%s\n' "$git_error" | tr '[:upper:]' '[:lower:]') in
    *"untracked working tree files would be overwritten"*) say "not pulling: untracked files would be overwritten" ;;
    *"not possible to fast-forward"* | *"not a fast-forward"* | *"diverging branches"*)
      say "not pulling: $branch has commits that are not on $upstream (not a fast-forward); nothing changed" ;;
    *) warn "not pulling: git could not fast-forward $branch; nothing changed [git: $last]" ;;
  esac
)

# ---- The Copilot login: the Secret's COPILOT_AUTH_JSON into OpenCode's auth.json when that is absent or the Secret
# changed since the last seed, so a login done in the workspace survives restarts. Never stops the start.
auth="$HOME/.local/share/opencode/auth.json"
record="$HOME/.local/state/opencode-workspace/copilot-auth.cksum"  # "<Secret's checksum> <written checksum>"
fix_login="run scripts/seed-copilot-auth.sh where you are logged in to Copilot, then restart the pod"
secret="COPILOT_AUTH_JSON in the workspace Secret"
checksum() { cksum <"$1" | awk '{ print $1 "-" $2 }'; }

# Why the Secret's login cannot be used, or nothing (copilot-login.jq holds the rules of ocw's own check).
secret_problem() {
  if [ -z "$COPILOT_AUTH_FILE" ]; then echo "COPILOT_AUTH_FILE is not set"
  elif [ ! -f "$COPILOT_AUTH_FILE" ]; then echo "$COPILOT_AUTH_FILE does not exist as a file (no $secret); $fix_login"
  elif [ ! -r "$COPILOT_AUTH_FILE" ]; then echo "$COPILOT_AUTH_FILE is not readable by uid $(id -u); check the mount"
  elif [ "$(size_of "$COPILOT_AUTH_FILE")" -gt "$MAX_LOGIN_BYTES" ]; then echo "$secret is over 1 MiB; $fix_login"
  fi
}
login_problem() {
  [ -s "$1" ] || { echo "is empty"; return; }
  jq -r -s -f "$scripts/copilot-login.jq" "$1" 2>/dev/null || echo "is not valid JSON"
}

# $1 takes the place of $2: a regular file, or anything but a directory (mv would move $1 into it), removed first.
replace_file() {
  if regular "$2" || ! exists "$2" || { { [ ! -d "$2" ] || [ -L "$2" ]; } && rm -f "$2"; }; then
    mv -f "$1" "$2" && return
  fi
  rm -f "$1"
  return 1
}

# The login with the entries of the existing auth.json besides Copilot's (other providers logged in here are kept);
# prints a note when it merged.
merge_into_auth() {
  jq -e 'type == "object"' "$auth" >/dev/null 2>&1 || return 0
  merged=$(mktemp "$auth.merging.XXXXXX") &&
    jq --slurpfile seed "$1" '.["github-copilot"] = $seed[0]["github-copilot"]' "$auth" >"$merged" &&
    mv -f "$merged" "$1" && echo "; other providers in it are kept" && return
  rm -f "$merged"
  return 1
}

seed_copilot_auth() (
  { exists "$auth" && ! regular "$auth"; } || { regular "$auth" && [ "$(size_of "$auth")" -gt "$MAX_LOGIN_BYTES" ]; } &&
    { warn "Copilot not seeded: $auth is not a regular file of at most 1 MiB; move it away, then restart"; exit; }
  problem=$(secret_problem)
  [ -z "$problem" ] || { say "Copilot not seeded: $problem"; exit; }
  mkdir -p "$(dirname "$auth")" "$(dirname "$record")" 2>/dev/null && staged=$(mktemp "$auth.seeding.XXXXXX") ||
    { warn "Copilot not seeded: cannot write in $(dirname "$auth") or $(dirname "$record") on the volume"; exit; }
  trap 'rm -f "$staged"' EXIT
  cat "$COPILOT_AUTH_FILE" >"$staged" || exit  # one read: hash, check and write all use this copy
  secret_sum=$(checksum "$staged") seeded_sum='' written_sum=''
  regular "$record" && [ "$(size_of "$record")" -le 100 ] && read -r seeded_sum written_sum <"$record"
  regular "$auth" && [ "$secret_sum" = "$seeded_sum" ] &&
    { say "Copilot auth: the Secret has not changed since it was seeded; $auth left as it is"; exit; }
  problem=$(login_problem "$staged")
  [ -z "$problem" ] || { say "Copilot not seeded: $secret $problem; $auth left as it is; $fix_login"; exit; }
  reason="there was none" note=""
  if regular "$auth"; then
    reason="the Secret changed since the last seed"
    current_sum=$(checksum "$auth")
    if [ "$current_sum" != "$written_sum" ] && [ "$current_sum" != "$secret_sum" ]; then  # a login done in here
      copy=$(mktemp "$auth.before-seed.XXXXXX") && cat "$auth" >"$copy" && replace_file "$copy" "$auth.before-seed" ||
        { warn "Copilot not seeded: cannot keep a copy of $auth, left as it is"; exit; }
      note="; the replaced file, changed in the workspace since the last seed, is kept as $auth.before-seed"
    fi
    note="$note$(merge_into_auth "$staged")" || { warn "Copilot not seeded: merging into $auth failed"; exit; }
  fi
  written_sum=$(checksum "$staged")
  chmod 600 "$staged" && replace_file "$staged" "$auth" || { warn "Copilot not seeded: writing $auth failed"; exit; }
  entry=$(mktemp "$record.XXXXXX") && printf '%s %s\n' "$secret_sum" "$written_sum" >"$entry" &&
    replace_file "$entry" "$record" || warn "could not record which Copilot auth was seeded: the next start seeds again"
  say "Copilot auth seeded into $auth from the workspace Secret ($reason)$note"
)

# ---- The step. The common case, a start on a populated volume, costs one git call.
hazard=$(! exists "$WORKSPACE_DIR/.git" || clone_config_hazard)
if [ -n "$hazard" ]; then
  warn "$WORKSPACE_DIR: $hazard, so git is not run there: the clone is kept as it is and not pulled"
  state=kept
elif exists "$WORKSPACE_DIR/.git" &&
  head=$(git_local -C "$WORKSPACE_DIR" rev-parse --quiet --verify --short HEAD 2>/dev/null); then
  say "repository present at $WORKSPACE_DIR (HEAD $head): not cloning"
  state=present
else
  state=$(inspect_workspace)
  case $state in
    foreign-owner)
      owners="$WORKSPACE_DIR belongs to uid $(owner_of "$WORKSPACE_DIR") and this step runs as uid $(id -u)"
      fail "$owners: git will not use it; nothing was changed; chown it to uid $(id -u) or fix the pod's runAsUser" ;;
    no-commits) say "repository present at $WORKSPACE_DIR, without commits yet: kept as it is, not cloning" ;;
    *) clone_workspace "$state" || exit 1; state=cloned ;;
  esac
fi
origin=$([ "$state" = present ] && git_local -C "$WORKSPACE_DIR" config --get remote.origin.url)
if [ -n "$origin" ] && [ -n "$repo_url" ] && [ "$origin" != "$repo_url" ]; then
  pull=false
  kept="the clone is kept as it is and not pulled, and the token is offered only to $repo_authority"
  warn "the clone's origin is $(redact_url "$origin"), not WORKSPACE_GIT_REPOSITORY=$repo_url: $kept"
fi
[ "$pull" = true ] && [ "$state" = present ] && pull_workspace
seed_copilot_auth
say "done in $(since "$started")"
