#!/bin/sh
# Workspace init step, run by the pod's init container as the workspace user with the volume as HOME: it clones
# WORKSPACE_GIT_REPOSITORY into WORKSPACE_DIR when no usable clone is there (an existing clone is never reset or
# re-cloned), fast-forwards a clean clone when WORKSPACE_GIT_PULL is "enabled", and puts the Secret's Copilot login
# into auth.json when it is absent or the Secret changed since the last seed. It holds the token while the volume is
# writable by the agent, so git here ignores system/global config, hooks, fsmonitor and every credential helper but
# ours (git-credential-secret), speaks only the repository's protocol, and pulls only when the clone's config holds
# plain settings. Inputs: HOME, WORKSPACE_DIR, WORKSPACE_GIT_REPOSITORY, WORKSPACE_GIT_PULL, GIT_TOKEN_FILE,
# COPILOT_AUTH_FILE. Exit 0 when the workspace can start, 1 when not (the message says why and what to do).
# POSIX sh (dash), git, jq, coreutils. It becomes a ConfigMap Flux substitutes: never a dollar sign followed by an
# opening brace. No `set -x`: nothing here may echo a secret.
umask 077
export LC_ALL=C GIT_TERMINAL_PROMPT=0 GIT_HTTP_LOW_SPEED_LIMIT=1000 GIT_HTTP_LOW_SPEED_TIME=60
say() { printf 'init: %s\n' "$*"; }
warn() { printf 'init: warning: %s\n' "$*" >&2; }
fail() { printf 'init: error: %s\n' "$*" >&2; exit 1; }
started=$(date +%s.%N)
since() { awk -v from="$1" -v to="$(date +%s.%N)" 'BEGIN { printf "%.2fs", to - from }'; }
redact_url() { printf '%s\n' "$1" | sed -e 's|://[^/@]*@|://|'; }

for tool in git jq; do command -v "$tool" >/dev/null || fail "$tool is not installed in this image: the step needs it"; done
[ -n "$HOME" ] || fail "HOME is not set: it must be the mount path of the workspace volume"
[ -d "$HOME" ] || fail "HOME=$HOME does not exist: the workspace volume is not mounted there"
# A real write, not `test -w`: that answers yes for root and cannot see a read-only mount reliably.
(printf 'ok' >"$HOME/.opencode-workspace-write-test") 2>/dev/null || fail "the workspace volume at $HOME is not \
writable by uid $(id -u) gid $(id -g): it is mounted read-only or owned by another user; check the pod's fsGroup and \
the volume's mount, then restart the pod"
rm -f "$HOME/.opencode-workspace-write-test"
[ -n "$WORKSPACE_DIR" ] || fail "WORKSPACE_DIR is not set: give the clone's absolute path in postBuild.substitute"
case $WORKSPACE_DIR in /*) ;; *) fail "WORKSPACE_DIR=$WORKSPACE_DIR is not an absolute path: give the clone's full path" ;; esac
WORKSPACE_DIR=$(printf '%s\n' "$WORKSPACE_DIR" | sed -e 's|//*|/|g' -e 's|/$||')
case $WORKSPACE_DIR in "" | "$HOME" | "$HOME/") fail "WORKSPACE_DIR must be a directory of its own on the workspace \
volume, below HOME=$HOME; it is '$WORKSPACE_DIR'" ;; esac
parent=$(dirname "$WORKSPACE_DIR")
staging="$parent/.$(basename "$WORKSPACE_DIR").clone-in-progress"
repo_url=$WORKSPACE_GIT_REPOSITORY
repo_authority=$(printf '%s\n' "$repo_url" | sed -n 's|^[A-Za-z][A-Za-z0-9+.-]*://\([^/]*\).*|\1|p')
case $repo_authority in *@*) fail "WORKSPACE_GIT_REPOSITORY has a user name or password in it: give the plain https \
URL; the token comes from the workspace Secret through the credential helper" ;; esac
case $WORKSPACE_GIT_PULL in
  enabled | true) pull=true ;;
  disabled | false | "") pull=false ;;
  *) warn "WORKSPACE_GIT_PULL='$WORKSPACE_GIT_PULL' is neither enabled nor disabled: not pulling"; pull=false ;;
esac

# git as this step runs it: nothing from /etc/gitconfig or ~/.gitconfig, no hooks, no fsmonitor, no askpass program,
# our helper alone (an empty credential.helper first empties the list a repository may have added to), and only the
# repository's own protocol (a rewritten remote cannot reach a local path or a command). Command-line scope, which
# outranks the clone's .git/config. A system config the container's env names (ocw up trusts a local source so) counts.
protocol=$(printf '%s\n' "$repo_url" | sed -n 's|^\([A-Za-z][A-Za-z0-9+.-]*\)://.*|\1|p')
case $repo_url in /*) protocol=file ;; *) [ -n "$protocol" ] || protocol=ssh ;; esac
[ -n "$GIT_CONFIG_SYSTEM" ] || export GIT_CONFIG_NOSYSTEM=1
export GIT_CONFIG_GLOBAL=/dev/null GIT_ASKPASS='' SSH_ASKPASS='' GIT_CEILING_DIRECTORIES="$parent"
set -- core.hooksPath /dev/null core.fsmonitor false credential.helper '' credential.helper \
  "$(cd "$(dirname "$0")" && pwd)/git-credential-secret" protocol.allow never "protocol.$protocol.allow" always \
  http.sslVerify true merge.verifySignatures false
n=0; while [ $# -gt 1 ]; do export "GIT_CONFIG_KEY_$n=$1" "GIT_CONFIG_VALUE_$n=$2"; n=$((n + 1)); shift 2; done; export GIT_CONFIG_COUNT=$n
token_is_present() { [ -n "$GIT_TOKEN_FILE" ] && [ -r "$GIT_TOKEN_FILE" ] && [ -s "$GIT_TOKEN_FILE" ]; }

# One line saying why git failed ($1: what it did, $2: its stderr), ending with git's own last word on it.
explain_git_failure() {
  detail=$(redact_url "$(printf '%s\n' "$2" | { grep -E '^(fatal|error):' || printf '%s\n' "$2" | grep -v '^[[:space:]]*$'; } |
    tail -n 1)")
  token_is_present && printf '%s\n' "$detail" | grep -qF -f "$GIT_TOKEN_FILE" &&
    detail="(git's message withheld: it contained the token)"
  case $(printf '%s\n' "$2" | tr '[:upper:]' '[:lower:]') in
    *"authentication failed"* | *"could not read username"* | *"could not read password"* | *" 401"* | *" 403"*)
      why="the server refused the token: it is wrong, expired or cannot read the repository; renew the PAT behind \
GITHUB_TOKEN in the workspace Secret and restart the pod"
      token_is_present || why="the repository needs a token and GIT_TOKEN_FILE ('$GIT_TOKEN_FILE') is missing or \
empty; put the PAT into GITHUB_TOKEN of the workspace Secret and restart the pod" ;;
    *"repository not found"* | *"repository '"*"' not found"*) why="the repository was not found, or the token \
cannot see it: check WORKSPACE_GIT_REPOSITORY and the token's repository access" ;;
    *"could not resolve"* | *"failed to connect"* | *"connection refused"* | *"timed out"* | *"unreachable"* | \
      *"no route to host"* | *"operation too slow"*) why="cannot reach $repo_authority: check the cluster's DNS \
and egress to it; the next start tries again" ;;
    *"ssl"* | *"certificate"* | *"tls"*) why="the TLS connection to $repo_authority failed: check its certificate" ;;
    *"no space left on device"* | *"disk quota exceeded"*) why="the workspace volume is full: free space or grow it" ;;
    *"permission denied"* | *"read-only file system"*) why="git cannot write under $parent: it must be on the \
workspace volume and writable by uid $(id -u)" ;;
    *) why="git $1 failed" ;;
  esac
  printf '%s [git: %s]' "$why" "$detail"
}

# What is at WORKSPACE_DIR: absent, empty-dir, unfinished (a repository holding nothing: replaced), no-commits (a
# repository without commits that holds work: kept), foreign-owner (stop, change nothing) or not-a-clone (moved aside).
inspect_workspace() {
  state=not-a-clone
  if [ ! -e "$WORKSPACE_DIR" ] && [ ! -L "$WORKSPACE_DIR" ]; then state=absent
  elif [ -d "$WORKSPACE_DIR" ] && { [ ! -r "$WORKSPACE_DIR" ] || [ ! -x "$WORKSPACE_DIR" ]; }; then state=foreign-owner
  elif [ -d "$WORKSPACE_DIR" ] && [ ! -L "$WORKSPACE_DIR" ] && [ -z "$(ls -A "$WORKSPACE_DIR")" ]; then state=empty-dir
  elif [ -d "$WORKSPACE_DIR" ] && [ -e "$WORKSPACE_DIR/.git" ]; then
    if [ "$(stat -c %u "$WORKSPACE_DIR")" != "$(id -u)" ] || [ "$(stat -c %u "$WORKSPACE_DIR/.git")" != "$(id -u)" ]
    then state=foreign-owner
    elif git_error=$(git -C "$WORKSPACE_DIR" rev-parse --git-dir 2>&1 >/dev/null); then
      state=unfinished
      if [ -n "$(git -C "$WORKSPACE_DIR" for-each-ref --count=1 2>/dev/null)" ] || [ "$(ls -A "$WORKSPACE_DIR")" != .git ] ||
        [ -n "$(git -C "$WORKSPACE_DIR" ls-files --cached 2>/dev/null | head -n 1)" ]; then state=no-commits; fi
    else
      case $git_error in *"dubious ownership"*) state=foreign-owner ;; esac
    fi
  fi
}

# Cloned beside its place and renamed into it: a start killed mid-clone leaves only the staging directory.
clone_workspace() {
  [ -n "$repo_url" ] || fail "WORKSPACE_GIT_REPOSITORY is not set: there is no repository to clone into $WORKSPACE_DIR"
  mkdir -p "$parent" 2>/dev/null || fail "cannot create $parent: WORKSPACE_DIR must be on the (writable) volume"
  { [ -e "$staging" ] || [ -L "$staging" ]; } && say "removing $staging, an unfinished clone left by an interrupted start"
  rm -rf "$staging" || fail "cannot remove the unfinished clone $staging: remove it by hand, then restart the pod"
  token_is_present || warn "GIT_TOKEN_FILE ('$GIT_TOKEN_FILE') is missing or empty: cloning without a token"
  say "cloning $repo_url into $WORKSPACE_DIR"
  clone_started=$(date +%s.%N)
  git_error=$(git clone --quiet --no-progress -- "$repo_url" "$staging" 2>&1 >/dev/null) || abandon "cloning \
$repo_url failed after $(since "$clone_started"): $(explain_git_failure clone "$git_error")"
  case $state in
    empty-dir) rmdir "$WORKSPACE_DIR" || abandon "cannot replace the empty directory $WORKSPACE_DIR (a mount point?): \
WORKSPACE_DIR must be a plain directory on the workspace volume" ;;
    unfinished) rm -rf "$WORKSPACE_DIR" || abandon "cannot remove the unfinished clone at $WORKSPACE_DIR"
      say "replaced the unfinished clone at $WORKSPACE_DIR (it held no commit, ref or file)" ;;
    not-a-clone)
      kept="$WORKSPACE_DIR.before-clone-$(date -u +%Y%m%dT%H%M%SZ)"
      n=1; while [ -e "$kept" ]; do kept="$WORKSPACE_DIR.before-clone-$(date -u +%Y%m%dT%H%M%SZ)-$n"; n=$((n + 1)); done
      mv -T "$WORKSPACE_DIR" "$kept" || abandon "cannot move $WORKSPACE_DIR aside to $kept: move it by hand"
      say "$WORKSPACE_DIR was not a usable git clone: its contents are kept, untouched, in $kept" ;;
  esac
  { [ -e "$WORKSPACE_DIR" ] || [ -L "$WORKSPACE_DIR" ]; } && abandon "$WORKSPACE_DIR appeared while cloning: another \
process is writing there; restart the pod"
  mv -T "$staging" "$WORKSPACE_DIR" || abandon "cannot move the new clone from $staging to $WORKSPACE_DIR"
  head=$(git -C "$WORKSPACE_DIR" rev-parse --quiet --verify --short HEAD) || head="no commits yet"
  say "cloned $repo_url into $WORKSPACE_DIR at $head in $(since "$clone_started")"
}
abandon() { rm -rf "$staging"; fail "$@"; }

# Fast-forward only, only a clean tree, only from WORKSPACE_GIT_REPOSITORY, and only when the clone's config holds
# plain settings: a filter, include, URL rewrite, proxy or helper there could run code or redirect the token. A failed
# fetch never stops the start. --prune drops branches gone upstream, so a renamed default branch is noticed.
pull_workspace() {
  branch=$(git -C "$WORKSPACE_DIR" symbolic-ref --quiet --short HEAD) || { say "not pulling: HEAD is detached"; return; }
  upstream=$(git -C "$WORKSPACE_DIR" rev-parse --abbrev-ref --symbolic-full-name '@{upstream}' 2>/dev/null) ||
    { say "not pulling: branch $branch has no upstream branch"; return; }
  unsafe=$(git -C "$WORKSPACE_DIR" config --local --name-only --list | grep -Ev \
    -e '^core\.(repositoryformatversion|filemode|bare|logallrefupdates|ignorecase|precomposeunicode|symlinks)$' \
    -e '^remote\..+\.(url|fetch|pushurl|push|prune|tagopt)$' -e '^branch\..+\.(remote|merge|rebase|description)$' \
    -e '^(extensions|user|pull|push|advice|color|commit|tag|init|alias)\.[^.]+$' | sort -u | tr '\n' ' ')
  [ -z "$unsafe" ] || { warn "not pulling: $WORKSPACE_DIR/.git/config sets $unsafe- settings that could run code or \
redirect the token while the token is here; remove them (git config --unset) or pull by hand"; return; }
  fetch_started=$(date +%s.%N)
  git_error=$(git -C "$WORKSPACE_DIR" fetch --quiet --no-progress --prune -- "$repo_url" \
    '+refs/heads/*:refs/remotes/origin/*' 2>&1 >/dev/null) || { warn "not pulling: fetching $branch's upstream failed \
after $(since "$fetch_started"): $(explain_git_failure fetch "$git_error"); starting with the clone as it is"; return; }
  behind=$(git -C "$WORKSPACE_DIR" rev-list --count "HEAD..$upstream" 2>/dev/null) ||
    { say "not pulling: $upstream is gone from the remote (renamed or deleted); $branch is left as it is"; return; }
  [ "$behind" = 0 ] && { say "pull: $branch is up to date with $upstream"; return; }
  [ -z "$(git -C "$WORKSPACE_DIR" status --porcelain --untracked-files=no)" ] || { say "not pulling: $WORKSPACE_DIR \
has uncommitted changes, left as they are; $upstream is $behind commit(s) ahead (fetched; merge it by hand)"; return; }
  if ! git_error=$(git -C "$WORKSPACE_DIR" merge --ff-only --quiet "$upstream" 2>&1 >/dev/null); then
    case $(printf '%s\n' "$git_error" | tr '[:upper:]' '[:lower:]') in
      *"untracked working tree files would be overwritten"*) say "not pulling: untracked files in $WORKSPACE_DIR \
would be overwritten by $upstream; nothing changed" ;;
      *"not possible to fast-forward"* | *"not a fast-forward"* | *"diverging branches"*) say "not pulling: $branch \
has commits that are not on $upstream (not a fast-forward); nothing changed" ;;
      *) warn "not pulling: git could not fast-forward $branch; the clone is left as it is [git: $(printf '%s\n' \
"$git_error" | grep -E '^(fatal|error):' | tail -n 1)]" ;;
    esac
    return
  fi
  say "pull: fast-forwarded $branch by $behind commit(s) from $upstream in $(since "$fetch_started")"
}

# The Secret is read once, into a private file beside auth.json; hash, check and write all use that copy. Only the
# "github-copilot" entry of an existing auth.json is replaced: other providers logged in here are kept. It is done when
# auth.json is absent or the Secret changed since the last seed, so a login done in the workspace survives restarts.
seed_copilot_auth() {
  auth="$HOME/.local/share/opencode/auth.json"
  record="$HOME/.local/state/opencode-workspace/copilot-auth.sha256"
  fix="run scripts/seed-copilot-auth.sh where you are logged in to Copilot, then restart the pod"
  [ -n "$COPILOT_AUTH_FILE" ] || { say "Copilot not seeded: COPILOT_AUTH_FILE is not set"; return; }
  [ -e "$COPILOT_AUTH_FILE" ] || { say "Copilot not seeded: $COPILOT_AUTH_FILE does not exist (no COPILOT_AUTH_JSON in \
the workspace Secret); $fix"; return; }
  { [ -e "$auth" ] || [ -L "$auth" ]; } && { [ -L "$auth" ] || [ ! -f "$auth" ]; } && { warn "Copilot not seeded: \
$auth is not a regular file (a directory or a link?); nothing was changed; move it away, then restart the pod"; return; }
  mkdir -p "$(dirname "$auth")" "$(dirname "$record")" 2>/dev/null || { warn "Copilot not seeded: cannot create \
$(dirname "$auth") or $(dirname "$record") on the workspace volume"; return; }
  staged="$auth.seeding"
  rm -f "$staged" "$staged.merged"
  cat "$COPILOT_AUTH_FILE" >"$staged" 2>/dev/null || { rm -f "$staged"; say "Copilot not seeded: $COPILOT_AUTH_FILE \
is not readable by uid $(id -u); check the Secret mount's mode"; return; }
  secret_hash=$(sha256sum <"$staged" | cut -d ' ' -f 1)
  seeded_hash='' written_hash=''
  [ -f "$record" ] && read -r seeded_hash written_hash <"$record"
  [ -n "$written_hash" ] || written_hash=$seeded_hash
  [ -f "$auth" ] && [ "$secret_hash" = "$seeded_hash" ] && { rm -f "$staged"; say "Copilot auth: the Secret has not \
changed since it was seeded; $auth left as it is"; return; }
  problem=$(jq -r -s 'if length != 1 or (.[0] | type) != "object" then "is not a JSON object (an auth.json document)"
    else .[0]["github-copilot"] as $c
      | if ($c | type) != "object" then "has no \"github-copilot\" entry"
        elif ($c.refresh | type) != "string" or $c.refresh == "" then "has a \"github-copilot\" entry without a \"refresh\" token"
        elif $c.type != "oauth" then "has a \"github-copilot\" entry whose \"type\" is not \"oauth\""
        else empty end end' "$staged" 2>/dev/null) || problem="is not valid JSON"
  [ -s "$staged" ] || problem="is empty"
  [ -z "$problem" ] || { rm -f "$staged"; say "Copilot not seeded: COPILOT_AUTH_JSON in the workspace Secret $problem; \
$auth left as it is; $fix"; return; }
  note="" reason="there was none"
  if [ -f "$auth" ]; then
    reason="the Secret changed since the last seed"
    current_hash=$(sha256sum <"$auth" | cut -d ' ' -f 1)
    # Changed in the workspace since the last seed (a login there): keep a copy of it, lose nothing.
    if [ "$current_hash" != "$written_hash" ] && [ "$current_hash" != "$secret_hash" ]; then
      cat "$auth" >"$auth.before-seed.tmp" && mv -fT "$auth.before-seed.tmp" "$auth.before-seed" || { rm -f \
"$auth.before-seed.tmp" "$staged"; warn "Copilot not seeded: cannot keep a copy of $auth, left as it is"; return; }
      note="; the replaced file, changed in the workspace since the last seed, is kept as $auth.before-seed"
    fi
    if jq -e 'type == "object"' "$auth" >/dev/null 2>&1; then
      jq --slurpfile seed "$staged" '.["github-copilot"] = $seed[0]["github-copilot"]' "$auth" >"$staged.merged" &&
        mv -fT "$staged.merged" "$staged" || { rm -f "$staged" "$staged.merged"; warn "Copilot not seeded: merging \
into $auth failed; it is left as it is"; return; }
      note="$note; other providers in it are kept"
    fi
  fi
  written_hash=$(sha256sum <"$staged" | cut -d ' ' -f 1)
  chmod 600 "$staged" && mv -fT "$staged" "$auth" || { rm -f "$staged"; warn "Copilot not seeded: writing $auth \
failed"; return; }
  { printf '%s %s\n' "$secret_hash" "$written_hash" >"$record.tmp" && mv -fT "$record.tmp" "$record"; } ||
    warn "could not record which Copilot auth was seeded: the next start seeds it again"
  say "Copilot auth seeded into $auth from the workspace Secret ($reason)$note"
}

# The common case, a start on a populated volume, costs one git call.
if [ -e "$WORKSPACE_DIR/.git" ] && head=$(git -C "$WORKSPACE_DIR" rev-parse --quiet --verify --short HEAD 2>/dev/null)
then
  say "repository present at $WORKSPACE_DIR (HEAD $head): not cloning"; state=present
else
  inspect_workspace
  case $state in
    foreign-owner) fail "$WORKSPACE_DIR belongs to uid $(stat -c '%u (mode %a)' "$WORKSPACE_DIR") and this step runs \
as uid $(id -u): git will not use it; nothing was changed; give the files to uid $(id -u) (chown -R) or fix the pod's \
runAsUser, then restart the pod" ;;
    no-commits) say "repository present at $WORKSPACE_DIR, without commits yet: kept as it is, not cloning" ;;
    *) clone_workspace; state=cloned ;;
  esac
fi
[ "$state" = present ] && origin=$(git -C "$WORKSPACE_DIR" config --get remote.origin.url) && [ -n "$repo_url" ] &&
  [ "$origin" != "$repo_url" ] && pull=false && warn "the clone's origin is $(redact_url "$origin"), not \
WORKSPACE_GIT_REPOSITORY=$repo_url: the clone is kept as it is and not pulled, and the token is offered only to \
$repo_authority"
[ "$pull" = true ] && [ "$state" = present ] && pull_workspace
seed_copilot_auth
say "done in $(since "$started")"
