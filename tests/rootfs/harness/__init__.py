"""The rootfs test harness: a Debian 12 root filesystem, a loopback HTTPS mirror, stand-in tools."""
