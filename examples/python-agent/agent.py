# A minimal native gRPC agent (Python grpcio) implementing ai_service.AIService's Process only, as the original
# Chat-AI agent does: ProcessStream and Summarize answer Unimplemented, so the backend falls back to Process and to
# its own summary. Its reply says what it received; it fails on request, and can be slow on request.
"""Minimal Chat-Backend agent over native gRPC.

Reply:   "echo: <message> | files: <number of file URLs> | history: <number of history entries>"
Cost:    --cost dollars (default 0.002) per turn
Failing: a message starting with "fail" gets INTERNAL
Slow:    a message containing "slow:<ms>" waits that long first (gives up when the caller does)

Needs Debian's python3-grpcio and python3-protobuf, and the code generated from proto/ (python3-grpc-tools):
    /usr/bin/python3 -m grpc_tools.protoc -I proto --python_out=examples/python-agent/gen \
        --grpc_python_out=examples/python-agent/gen proto/ai_service.proto
    /usr/bin/python3 examples/python-agent/agent.py --listen 127.0.0.1:50051
"""
import argparse
import json
import os
import re
import signal
import sys
import threading
import time
from concurrent import futures

HERE = os.path.dirname(os.path.abspath(__file__))
INSTALL = "sudo apt-get install -y python3-grpcio python3-protobuf python3-grpc-tools"


def log(line):
    print(f"python-agent: {line}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", default=os.environ.get("AGENT_LISTEN") or "127.0.0.1:50051",
                        help="host:port to listen on; port 0 picks a free one (default 127.0.0.1:50051, env AGENT_LISTEN)")
    parser.add_argument("--gen", default=os.environ.get("AGENT_GEN_DIR") or os.path.join(HERE, "gen"),
                        help="directory holding ai_service_pb2.py and ai_service_pb2_grpc.py (default: gen/ beside this file)")
    parser.add_argument("--cost", type=float, default=0.002, help="dollars reported per turn (default 0.002)")
    args = parser.parse_args()

    try:
        import grpc  # noqa: F401  (Debian: python3-grpcio)
        import google.protobuf  # noqa: F401  (Debian: python3-protobuf)
    except ImportError as error:
        sys.exit(f"python-agent: {error}. Install Debian's packages ({INSTALL}) and run this with /usr/bin/python3.")
    sys.path.insert(0, args.gen)
    try:
        import ai_service_pb2
        import ai_service_pb2_grpc
    except ImportError as error:
        sys.exit(f"python-agent: no generated code in {args.gen} ({error}). Generate it from proto/:\n"
                 f"  /usr/bin/python3 -m grpc_tools.protoc -I proto --python_out={args.gen} --grpc_python_out={args.gen} proto/ai_service.proto")

    import grpc

    class Agent(ai_service_pb2_grpc.AIServiceServicer):
        """Process only: the generated base class answers ProcessStream and Summarize with UNIMPLEMENTED."""

        def Process(self, request, context):
            metadata = sorted({key for key, _ in context.invocation_metadata()})
            remaining = context.time_remaining()  # seconds; without a deadline, grpcio reports a huge number
            if remaining is not None and remaining > 10**9:
                remaining = None
            try:
                history = len(json.loads(request.chat_history or "[]"))
            except ValueError:
                history = -1
            log("call " + json.dumps({
                "method": "Process",
                "message": request.chat_message,
                "files": list(request.file_name),
                "history": history,
                "model": request.model_name,
                "metadata": metadata,
                "deadline_ms": None if remaining is None else round(remaining * 1000),
            }))
            slow = re.search(r"slow:(\d+)", request.chat_message)
            if slow:
                until = time.monotonic() + int(slow.group(1)) / 1000
                while time.monotonic() < until:
                    if not context.is_active():
                        return ai_service_pb2.Response()  # the caller gave up; nobody reads this
                    time.sleep(min(0.01, max(0.0, until - time.monotonic())))
            if request.chat_message.startswith("fail"):
                context.abort(grpc.StatusCode.INTERNAL, f"the agent was asked to fail: {request.chat_message[:80]}")
            response = ai_service_pb2.Response(
                response_text=f"echo: {request.chat_message} | files: {len(request.file_name)} | history: {history}",
                cost=args.cost,
            )
            response.timestamp.GetCurrentTime()
            return response

    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        sys.exit(f'python-agent: --listen "{args.listen}": expected host:port, e.g. 127.0.0.1:50051')
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    ai_service_pb2_grpc.add_AIServiceServicer_to_server(Agent(), server)
    bound = server.add_insecure_port(args.listen)
    if bound == 0:
        sys.exit(f"python-agent: cannot listen on {args.listen}")
    server.start()
    log(f"listening on {host}:{bound} (native gRPC, ai_service.AIService: Process)")

    stopped = threading.Event()

    def stop(signum, _frame):
        log(f"{signal.Signals(signum).name}: stopping")
        server.stop(grace=3).wait()
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopped.wait(3600):
        pass


if __name__ == "__main__":
    main()
