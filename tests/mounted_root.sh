#!/bin/bash
# mounted_root.sh CMD...: runs CMD, from the current folder, where / is a
# mount point.  Inside a chroot whose root is a plain folder (the shared
# ompi5-root tool's run.sh), `ip netns exec` fails ("mount --make-rslave
# /" is refused there) and with it the emulated-cluster tests; binding
# the root onto a folder of itself and entering that folder makes / a
# mount point.  Where / already is one, CMD just runs.  Needs root, in a
# mount namespace of its own (run.sh makes one), so that the bind goes
# away with it.
set -eu
if mountpoint -q /; then
    exec "$@"
fi
top=/mnt/rdmc-root
mkdir -p "$top"
mount --rbind / "$top"
# shellcheck disable=SC2016
exec chroot "$top" /bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$PWD" "$@"
