// Drives odmd's CORS answers with Node's own fetch (undici), as a browser page's script would
// call it: a preflight, then the request with Origin (e2e.cors runs it). Node does not enforce
// CORS, so this asserts the fields a browser would check. Exit status 0 and "cors ok" when all
// held. Arguments: BASE_URL ORIGIN API_KEY.
const [base, origin, key] = process.argv.slice(2);

function expect(what, got, want) {
  if (got !== want) {
    console.log("FAIL", what, "got", JSON.stringify(got), "want", JSON.stringify(want));
    process.exit(1);
  }
}

function listHas(what, list, item) {
  const items = (list || "").split(",").map((s) => s.trim().toLowerCase());
  if (!items.includes(item.toLowerCase())) {
    console.log("FAIL", what, JSON.stringify(list), "lacks", item);
    process.exit(1);
  }
}

const pre = await fetch(base + "/api/notes", {
  method: "OPTIONS",
  headers: {
    Origin: origin,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
  },
});
expect("preflight status", pre.status, 204);
expect("preflight allow-origin", pre.headers.get("access-control-allow-origin"), origin);
listHas("preflight allow-methods", pre.headers.get("access-control-allow-methods"), "POST");
for (const h of ["Authorization", "Content-Type", "Idempotency-Key"])
  listHas("preflight allow-headers", pre.headers.get("access-control-allow-headers"), h);
expect("preflight credentials", pre.headers.get("access-control-allow-credentials"), null);

const post = await fetch(base + "/api/notes", {
  method: "POST",
  headers: { Origin: origin, Authorization: "Bearer " + key, "Content-Type": "application/json" },
  body: JSON.stringify({ title: "from fetch" }),
});
expect("POST status", post.status, 201);
expect("POST allow-origin", post.headers.get("access-control-allow-origin"), origin);
for (const h of ["ETag", "Location", "X-Total-Count", "Link", "Retry-After"])
  listHas("POST expose-headers", post.headers.get("access-control-expose-headers"), h);
const created = await post.json();
expect("POST Location", post.headers.get("location"), "/api/notes/" + created._id);

const missing = await fetch(base + "/api/nothing", { headers: { Origin: origin } });
expect("404 status", missing.status, 404);
expect("404 allow-origin", missing.headers.get("access-control-allow-origin"), origin);

const other = await fetch(base + "/api/notes", {
  headers: { Origin: "https://elsewhere.example", Authorization: "Bearer " + key },
});
expect("other origin status", other.status, 200);
expect("other origin allow-origin", other.headers.get("access-control-allow-origin"), null);
console.log("cors ok");
