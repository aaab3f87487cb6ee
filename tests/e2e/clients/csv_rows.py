"""Reads a CSV file (RFC 4180) with Python's csv module and prints its rows as a JSON array of
arrays of strings: the e2e export test compares them with the documents it exported."""
import csv
import json
import sys

with open(sys.argv[1], newline="", encoding="utf-8") as f:
    rows = list(csv.reader(f, strict=True))
json.dump(rows, sys.stdout)
