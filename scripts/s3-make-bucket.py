#!/usr/bin/env python3
"""Creates an S3 bucket with one SigV4-signed PUT (standard library only),
so test scripts need no AWS CLI. Usage: s3-make-bucket.py ENDPOINT KEY SECRET BUCKET"""
import datetime
import hashlib
import hmac
import sys
import urllib.error
import urllib.parse
import urllib.request

endpoint, key, secret, bucket = sys.argv[1:5]
region, service = "us-east-1", "s3"
host = urllib.parse.urlparse(endpoint).netloc
now = datetime.datetime.now(datetime.timezone.utc)
amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
payload = hashlib.sha256(b"").hexdigest()
headers = {"host": host, "x-amz-content-sha256": payload, "x-amz-date": amz_date}
signed = ";".join(sorted(headers))
canonical = "\n".join(
    ["PUT", f"/{bucket}", "", *(f"{k}:{headers[k]}" for k in sorted(headers)), "", signed, payload]
)
scope = f"{day}/{region}/{service}/aws4_request"
to_sign = "\n".join(
    ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
)


def mac(k, m):
    return hmac.new(k, m.encode(), hashlib.sha256).digest()


signing = mac(mac(mac(mac(f"AWS4{secret}".encode(), day), region), service), "aws4_request")
signature = hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()
request = urllib.request.Request(f"{endpoint}/{bucket}", method="PUT")
for k, v in headers.items():
    if k != "host":
        request.add_header(k, v)
request.add_header(
    "Authorization",
    f"AWS4-HMAC-SHA256 Credential={key}/{scope}, SignedHeaders={signed}, Signature={signature}",
)
try:
    urllib.request.urlopen(request, timeout=30)
except urllib.error.HTTPError as error:
    if error.code != 409:  # already exists
        raise
