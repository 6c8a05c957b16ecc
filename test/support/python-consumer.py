# A boto3 consumer for test/consumer/package.test.ts: calls STS GetCallerIdentity every 100 ms with the
# profile's credentials (a credential_process) until stdin closes, printing one JSON line per call:
# when it ended, the access key id that signed it, and the error code if AWS refused it.
import json
import re
import sys
import threading
import time

import boto3
import botocore.config
import botocore.exceptions

signed_with = {"key": ""}


def record_signing_key(request, **_):
    authorization = request.headers.get("Authorization", b"")
    if isinstance(authorization, bytes):
        authorization = authorization.decode()
    match = re.search(r"Credential=([A-Z0-9]+)/", authorization)
    signed_with["key"] = match.group(1) if match else ""


stopped = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stopped.set()), daemon=True).start()

sts = boto3.Session().client("sts", config=botocore.config.Config(retries={"max_attempts": 1}))
sts.meta.events.register("before-send.sts.GetCallerIdentity", record_signing_key)
print(json.dumps({"ready": True}), flush=True)
while not stopped.is_set():
    error = None
    try:
        sts.get_caller_identity()
    except botocore.exceptions.ClientError as refused:
        error = refused.response.get("Error", {}).get("Code", "ClientError")
    except Exception as failed:  # the credential_process failing, a connection error...
        error = type(failed).__name__
    print(json.dumps({"at": int(time.time() * 1000), "keyId": signed_with["key"], "error": error}), flush=True)
    time.sleep(0.1)
