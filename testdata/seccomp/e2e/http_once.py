# Serve exactly one HTTP request on 127.0.0.1 from a server thread and fetch it from the main
# thread; exit 0 when the body matches. The seccomp end-to-end tests' python workload.
import http.server
import threading
import urllib.request

BODY = b"hello from imgharden\n"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
thread = threading.Thread(target=server.handle_request)
thread.start()
got = urllib.request.urlopen("http://127.0.0.1:%d/" % server.server_port, timeout=10).read()
thread.join()
server.server_close()
if got != BODY:
    raise SystemExit("unexpected body %r" % got)
print("served one request")
