"""AWS-protocol servers for the tests: moto on a free loopback port, and a front for what moto
lacks. moto answers CodePipeline's pipeline CRUD, CodeBuild projects and S3, but not
ListActionExecutions; the front answers that one operation from what a test gives it, in the shape
AWS answers it (S3 locations and output variables included), and passes every other request to
moto as it came."""

import http.client
import http.server
import json
import socket
import subprocess
import threading
import time
import urllib.request

import boto3


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    """moto_server on a free loopback port, until stop()."""

    def __init__(self):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=1)
                break
            except Exception:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.2)

    def client(self, service, endpoint=None):
        return boto3.client(service, endpoint_url=endpoint or self.endpoint, region_name="us-east-1",
                            aws_access_key_id="test", aws_secret_access_key="test")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


class Front:
    """ListActionExecutions from `action_executions` (a list of ActionExecutionDetail as AWS
    shapes them, each with its `pipelineName` for filtering; newest first), everything else
    passed to moto."""

    TARGET = "CodePipeline_20150709.ListActionExecutions"

    def __init__(self, moto):
        self.moto = moto
        self.action_executions = []
        self.requests = []
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.answer()

            def do_POST(self):
                self.answer()

            def do_PUT(self):
                self.answer()

            def do_HEAD(self):
                self.answer()

            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                target = self.headers.get("X-Amz-Target", "")
                front.requests.append(target or f"{self.command} {self.path}")
                if target == Front.TARGET:
                    status, headers, out = front.list_action_executions(json.loads(body or b"{}"))
                else:
                    status, headers, out = front.forward(self.command, self.path, self.headers, body)
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(out)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def list_action_executions(self, request):
        execution = (request.get("filter") or {}).get("pipelineExecutionId")
        details = [
            {k: v for k, v in detail.items() if k != "pipelineName"}
            for detail in self.action_executions
            if detail["pipelineName"] == request.get("pipelineName")
            and (execution is None or detail["pipelineExecutionId"] == execution)
        ]
        if not any(d["pipelineName"] == request.get("pipelineName") for d in self.action_executions):
            body = {"__type": "PipelineNotFoundException",
                    "message": f"The account with id '123456789012' does not include a pipeline with the name '{request.get('pipelineName')}'"}
            return 400, [("Content-Type", "application/x-amz-json-1.1")], json.dumps(body).encode()
        body = json.dumps({"actionExecutionDetails": details}).encode()
        return 200, [("Content-Type", "application/x-amz-json-1.1")], body

    def forward(self, method, path, headers, body):
        connection = http.client.HTTPConnection("127.0.0.1", self.moto.port, timeout=30)
        connection.request(method, path, body=body, headers={k: v for k, v in headers.items()})
        answer = connection.getresponse()
        out = answer.read()
        kept = [(k, v) for k, v in answer.getheaders()
                if k.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date")]
        connection.close()
        return answer.status, kept, out

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
