#!/bin/sh
# Workspace init step: clone the repository once, seed Copilot auth when the Secret changed, never print a secret.
# POSIX sh (alpine/git's busybox ash). Written without brace expansions so Flux substitution leaves it untouched.
set -eu
umask 077
started=$(date +%s)

say() { printf 'init: %s\n' "$*"; }
fail() { printf 'init: error: %s\n' "$*" >&2; exit 1; }

[ -n "$WORKSPACE_DIR" ] || fail "WORKSPACE_DIR is empty: set it in the workspace's postBuild.substitute"
[ -n "$HOME" ] || fail "HOME is empty"
[ -w "$HOME" ] || fail "the workspace volume at $HOME is not writable by uid $(id -u): check fsGroup and the PVC"

# --- the repository: clone only when absent or broken; an existing clone is never reset, cleaned or re-cloned.
repo_is_healthy() {
  [ -d "$WORKSPACE_DIR/.git" ] && git -C "$WORKSPACE_DIR" rev-parse --verify --quiet HEAD >/dev/null 2>&1
}

clone_repository() {
  [ -n "$WORKSPACE_GIT_REPOSITORY" ] || fail "WORKSPACE_GIT_REPOSITORY is empty: nothing to clone"
  parent=$(dirname "$WORKSPACE_DIR")
  mkdir -p "$parent"
  staging="$parent/.clone-$(basename "$WORKSPACE_DIR").tmp"
  rm -rf "$staging"
  say "cloning into $WORKSPACE_DIR"
  if ! git clone --quiet --no-progress "$WORKSPACE_GIT_REPOSITORY" "$staging" 2>"$HOME/.clone-error"; then
    reason=$(sed -e 's#://[^/@]*@#://#g' "$HOME/.clone-error" | tail -n 3 | tr '\n' ' ')
    rm -rf "$staging" "$HOME/.clone-error"
    fail "clone failed: $reason(check the token in the workspace Secret and that the repository exists)"
  fi
  rm -f "$HOME/.clone-error"
  if [ -e "$WORKSPACE_DIR" ]; then
    broken="$WORKSPACE_DIR.broken-$(date +%Y%m%d%H%M%S)"
    say "the existing $WORKSPACE_DIR is not a usable git clone: kept as $broken"
    mv "$WORKSPACE_DIR" "$broken"
  fi
  mv "$staging" "$WORKSPACE_DIR"
  say "cloned"
}

if repo_is_healthy; then
  say "repository present at $WORKSPACE_DIR: not cloning"
  if [ "$WORKSPACE_GIT_PULL" = "enabled" ]; then
    if git -C "$WORKSPACE_DIR" pull --ff-only --quiet 2>/dev/null; then
      say "pulled (fast-forward only)"
    else
      say "pull skipped: not a fast-forward or the remote is unreachable; the working tree is untouched"
    fi
  fi
else
  clone_repository
fi

# --- Copilot auth: seed OpenCode's auth file when absent or when the Secret changed since the last seed.
data_dir="$HOME/.local/share/opencode"
state_dir="$HOME/.local/state/opencode-workspace"
auth_file="$data_dir/auth.json"
seeded_hash_file="$state_dir/copilot-auth.sha256"

seed_copilot() {
  source_file="$COPILOT_AUTH_FILE"
  if [ -z "$source_file" ] || [ ! -s "$source_file" ]; then
    say "Copilot not seeded: the workspace Secret has no Copilot auth (run scripts/seed-copilot-auth.sh)"
    return 0
  fi
  if ! grep -q '"github-copilot"' "$source_file" || ! grep -q '"refresh"' "$source_file"; then
    say "Copilot not seeded: the Secret's Copilot auth is not an auth document with a github-copilot entry"
    return 0
  fi
  new_hash=$(sha256sum "$source_file" | cut -d' ' -f1)
  old_hash=""
  [ -f "$seeded_hash_file" ] && old_hash=$(cat "$seeded_hash_file")
  if [ -f "$auth_file" ] && [ "$new_hash" = "$old_hash" ]; then
    say "Copilot auth unchanged since the last seed: left as it is"
    return 0
  fi
  mkdir -p "$data_dir" "$state_dir"
  cp "$source_file" "$auth_file.tmp"
  chmod 600 "$auth_file.tmp"
  mv "$auth_file.tmp" "$auth_file"
  printf '%s\n' "$new_hash" > "$seeded_hash_file.tmp"
  mv "$seeded_hash_file.tmp" "$seeded_hash_file"
  say "Copilot auth seeded from the workspace Secret"
}
seed_copilot

say "done in $(( $(date +%s) - started ))s"
