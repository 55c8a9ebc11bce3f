#!/usr/bin/env python3
"""A minimal schedule server for ozmap-ivr (docs/schedule.md, SCHEDULE=http).

It keeps its own agenda in memory: Monday to Saturday, a morning and an
afternoon, CAPACITY visits per period. Put it in front of any ERP: replace
`free`, `book`, `cancel` and `status` with the ERP's work orders. Standard
library only.

    SCHEDULE_TOKEN=secret python3 docs/examples/schedule_server.py 127.0.0.1:8082
    SCHEDULE=http SCHEDULE_URL=http://127.0.0.1:8082 SCHEDULE_TOKEN=secret ozmap-ivr serve

The technician's side, to try the reservation's life by hand:
    curl -X POST -H 'Authorization: Bearer secret' http://127.0.0.1:8082/visits/PROTOCOL/done
"""

import datetime
import hmac
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

TOKEN = os.environ.get("SCHEDULE_TOKEN", "")
CAPACITY = int(os.environ.get("SCHEDULE_CAPACITY", "4"))
PERIODS = ("morning", "afternoon")
WORKING_DAYS = {0, 1, 2, 3, 4, 5}  # Monday to Saturday
MAX_DAYS = 62

LOCK = threading.Lock()
VISITS = {}  # protocol -> {"reference", "day", "period", "status"}
COUNTER = [0]


class Refused(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def booked(day, period):
    return sum(
        1
        for v in VISITS.values()
        if v["day"] == day and v["period"] == period and v["status"] != "cancelled"
    )


def free(frm, to):
    """The periods with room between two days (both included)."""
    first = datetime.date.fromisoformat(frm)
    last = datetime.date.fromisoformat(to)
    if last < first or (last - first).days > MAX_DAYS:
        raise Refused(400, "from/to out of range")
    slots = []
    day = first
    while day <= last:
        if day.weekday() in WORKING_DAYS:
            for period in PERIODS:
                left = CAPACITY - booked(day.isoformat(), period)
                if left > 0:
                    slots.append(
                        {"day": day.isoformat(), "period": period, "capacity": CAPACITY, "free": left}
                    )
        day += datetime.timedelta(days=1)
    return slots


def book(protocol, visit):
    """Books (or moves) the visit of `protocol`: the same PUT again answers the same."""
    day, period = visit.get("day"), visit.get("period")
    try:
        datetime.date.fromisoformat(day)
    except (TypeError, ValueError):
        raise Refused(400, "day is not YYYY-MM-DD")
    if period not in PERIODS:
        raise Refused(400, "period is not morning or afternoon")
    held = VISITS.get(protocol)
    if held and held["status"] != "cancelled" and (held["day"], held["period"]) == (day, period):
        return held["reference"]
    if booked(day, period) >= CAPACITY:
        raise Refused(409, "the period is full")
    if held is None:
        COUNTER[0] += 1
        held = VISITS[protocol] = {"reference": "OS-%d" % COUNTER[0]}
    held.update(day=day, period=period, status="open")
    return held["reference"]


def cancel(protocol):
    held = VISITS.get(protocol)
    if held is None:
        raise Refused(404, "no such visit")
    held["status"] = "cancelled"


def status(protocol):
    held = VISITS.get(protocol)
    if held is None:
        raise Refused(404, "no such visit")
    return {"status": held["status"], "reference": held["reference"]}


def done(protocol):
    held = VISITS.get(protocol)
    if held is None or held["status"] == "cancelled":
        raise Refused(404, "no such open visit")
    held["status"] = "done"


class Handler(BaseHTTPRequestHandler):
    def handle_one(self, method):
        given = self.headers.get("Authorization", "")
        if TOKEN and not hmac.compare_digest(given, "Bearer " + TOKEN):
            return self.answer(401, {"message": "unauthorized"})
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        try:
            with LOCK:
                if method == "GET" and parts == ["slots"]:
                    q = parse_qs(url.query)
                    frm, to = q.get("from", [""])[0], q.get("to", [""])[0]
                    try:
                        return self.answer(200, {"slots": free(frm, to)})
                    except ValueError:
                        raise Refused(400, "from/to are not YYYY-MM-DD")
                if len(parts) == 2 and parts[0] == "visits":
                    protocol = parts[1]
                    if method == "PUT":
                        length = min(int(self.headers.get("Content-Length") or 0), 65536)
                        try:
                            visit = json.loads(self.rfile.read(length) or b"{}")
                        except ValueError:
                            raise Refused(400, "not JSON")
                        if not isinstance(visit, dict):
                            raise Refused(400, "not an object")
                        return self.answer(200, {"reference": book(protocol, visit)})
                    if method == "DELETE":
                        cancel(protocol)
                        return self.answer(200, {"status": "cancelled"})
                    if method == "GET":
                        return self.answer(200, status(protocol))
                if method == "POST" and len(parts) == 3 and parts[0] == "visits" and parts[2] == "done":
                    done(parts[1])
                    return self.answer(200, {"status": "done"})
        except Refused as e:
            return self.answer(e.status, {"message": e.message})
        return self.answer(404, {"message": "not found"})

    def do_GET(self):
        self.handle_one("GET")

    def do_PUT(self):
        self.handle_one("PUT")

    def do_DELETE(self):
        self.handle_one("DELETE")

    def do_POST(self):
        self.handle_one("POST")

    def answer(self, status, body):
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        # Query strings hold coordinates: not logged.
        pass


if __name__ == "__main__":
    host, port = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8082").rsplit(":", 1)
    ThreadingHTTPServer((host, int(port)), Handler).serve_forever()
