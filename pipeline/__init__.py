"""Everything with a side effect: config loading, sources, store, backtests, flows, CLI."""

# Load curl_cffi's libcurl before anything can import TensorFlow: TensorFlow exports libcurl
# symbols of its own, and a curl_cffi loaded after it binds to them and fails every request
# ("curl: (48) An unknown option was passed in to libcurl"). Every entry point (CLI, flows,
# serve) imports this package first; tests/test_libcurl_order.py checks the order holds.
import curl_cffi  # noqa: F401

__version__ = "0.1.0"
