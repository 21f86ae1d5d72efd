#!/usr/bin/env bash
# Near misses of the default rules, for e2e_rules.rs: everyday actions that
# look like a trigger but must not raise any alert. Every command names
# DIR (argv[1], a fresh directory outside /tmp) in its command line, so the
# test can tell their alerts, if any, from the rest of the machine's.
#   near-misses.sh DIR
set -euo pipefail
dir=$1
mkdir -p "$dir"

# Credential read: /etc/passwd is not a credential file.
cp /etc/passwd "$dir/passwd.copy"
# Links to ordinary files.
ln -s /etc/hostname "$dir/hostname-link"
ln "$dir/passwd.copy" "$dir/passwd.hardlink"
# Permission changes without set-id bits; the sticky bit is not one.
chmod 755 "$dir/passwd.copy"
mkdir "$dir/shared"
chmod 1777 "$dir/shared"
# A public key is not a private one.
mkdir -p "$dir/.ssh"
touch "$dir/.ssh/id_ed25519.pub"
cat "$dir/.ssh/id_ed25519.pub" >/dev/null
# Profile files are not history files.
touch "$dir/.bash_profile"
rm "$dir/.bash_profile"
# A program run from a directory that is not a scratch directory.
cp /bin/true "$dir/true"
"$dir/true" "$dir"
# A shell in a pipeline, not on a socket.
echo "$dir" | sh -c "cat >/dev/null; true $dir"
rm -rf "$dir"
