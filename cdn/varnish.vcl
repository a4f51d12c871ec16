vcl 4.1;

# Varnish (7.x, with the xkey module of varnish-modules) in front of the feeds
# app under gunicorn. It keeps every public response as long as the app's
# Surrogate-Control says, serves it stale while it fetches a fresh copy and,
# for up to a day, while the app is down; the app purges it by surrogate key
# on every change (start the app with FEEDS_PURGE_URL=http://<this host>:<port>/).
#
# Change the backend's address to the app's. PURGE is accepted from the
# addresses in "purgers" only: the app's own, nobody else's.

import std;
import xkey;

backend app {
    .host = "127.0.0.1";
    .port = "8000";
    # Is the app answering? While it is not, objects are served from grace.
    .probe = {
        .url = "/";
        .interval = 1s;
        .timeout = 2s;
        .window = 3;
        .threshold = 2;
    }
}

acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (!req.http.xkey) {
            return (synth(400, "PURGE needs an xkey header naming the keys"));
        }
        set req.http.n-gone = xkey.purge(req.http.xkey);
        return (synth(200, "Invalidated " + req.http.n-gone + " objects"));
    }
    # A stale object is served while a fresh one is fetched for a minute
    # (stale-while-revalidate) while the app answers, and for as long as it
    # is kept (stale-if-error) while it does not.
    if (std.healthy(req.backend_hint)) {
        set req.grace = 60s;
    }
    # What varies with credentials (the partners' feeds, the desk) is never
    # kept: Varnish's built-in rules pass any request with Authorization.
}

sub vcl_backend_response {
    # The app's surrogate keys, as xkey reads them.
    if (beresp.http.Surrogate-Key) {
        set beresp.http.xkey = beresp.http.Surrogate-Key;
    }
    # Surrogate-Control is for this cache; Cache-Control stays the browsers'.
    if (beresp.http.Surrogate-Control ~ "max-age=[0-9]+") {
        set beresp.ttl = std.duration(
            regsub(beresp.http.Surrogate-Control, "^.*max-age=([0-9]+).*$", "\1") + "s", 0s);
        set beresp.grace = std.duration(
            regsub(beresp.http.Surrogate-Control, "^.*stale-if-error=([0-9]+).*$", "\1") + "s",
            60s);
    }
    # Anything marked private or no-store (the pixel, the partners' feeds)
    # is left to Varnish's built-in rules, which never keep it.
}

sub vcl_deliver {
    unset resp.http.Surrogate-Key;
    unset resp.http.Surrogate-Control;
    unset resp.http.xkey;
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
}
