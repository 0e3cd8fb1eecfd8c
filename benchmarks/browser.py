"""The one chromium the benchmarks and the browser tests drive: Debian's, headless, on loopback only."""

CHROMIUM = "/usr/bin/chromium"
# --no-sandbox: CI and these machines run as root. --disable-gpu: there is none. --disable-background-networking:
# the machines' closed network refuses chromium's own calls home, many at a time. --disable-dev-shm-usage:
# containers give /dev/shm 64 MB, too little for twenty tabs.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]

# True once Streamlit has drawn its page and has no script run in progress (the status widget shows while one runs).
NO_RUN_JS = """() => !document.querySelector('[data-testid="stStatusWidget"]')
                     && document.querySelector('[data-testid="stMain"]')"""


def wait_until_no_run(page, timeout_ms: int) -> None:
    """Wait until the page's Streamlit app has no script run in progress."""
    page.wait_for_function(NO_RUN_JS, timeout=timeout_ms)
