"""`aks-jumpbox try`: the plan's image built in a local QEMU VM the way Image Builder's Packer builds it.

packer.py   the Shell customizers' and in-VM validations' inline lines, as Packer runs them (pure)
seed.py     the cloud-init NoCloud seed: the build user, its ephemeral key, the guest's host names
network.py  which hosts the guest may reach, and the QEMU user-mode network that enforces it
relay.py    the per-connection relay QEMU's guestfwd runs (guest -> one allowed host:port)
qemu.py     the accelerator probe (KVM or TCG) and the QEMU process
ssh.py      the host's OpenSSH client, isolated from the user's keys, agent and known_hosts
checks.py   the outside-in checks after the reboot: auth methods offered, tools, manifest
run.py      the run: boot, provision, reboot, check; events for a live timeline; the verdict
"""
