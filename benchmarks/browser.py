"""The one chromium the benchmarks and the browser tests drive: Debian's, headless, on loopback only."""

CHROMIUM = "/usr/bin/chromium"
# --no-sandbox: CI and these machines run as root. --disable-gpu: there is none. --disable-background-networking:
# the machines' closed network refuses chromium's own calls home, many at a time. --disable-dev-shm-usage:
# containers give /dev/shm 64 MB, too little for twenty tabs.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]
