"""POSTs a JSON-ish body of SIZE bytes to URL with a third-party client and prints the status.

    post_body.py URL SIZE MODE     MODE: urllib | requests | requests-chunked

Prints the HTTP status, or "error: ..." when no answer was read (exit 0 either way): the
end-to-end test (tests/e2e/test_framing.c) compares what it prints.
"""
import sys
import urllib.error
import urllib.request


def body(size):
    return b'{"title":"' + b"a" * max(size - 12, 0) + b'"}'


def main():
    url, size, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    data = body(size)
    headers = {"Content-Type": "application/json"}
    try:
        if mode == "urllib":
            req = urllib.request.Request(url, data=data, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=20) as r:
                    print(r.status)
            except urllib.error.HTTPError as e:
                print(e.code)
            return
        import requests

        if mode == "requests-chunked":
            pieces = (data[i:i + 16384] for i in range(0, len(data), 16384))
            print(requests.post(url, data=pieces, headers=headers, timeout=20).status_code)
        else:
            print(requests.post(url, data=data, headers=headers, timeout=20).status_code)
    except Exception as e:  # the test reads what went wrong
        print("error: %r" % (e,))


main()
