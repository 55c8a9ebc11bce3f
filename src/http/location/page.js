// The location page's one script (served by the service itself: the page's
// Content-Security-Policy allows no other). Its words are the page's data-*
// attributes, in the page's language.
(function () {
  "use strict";
  var main = document.getElementById("page");
  var button = document.getElementById("here");
  var status = document.getElementById("status");
  var accuracy = document.getElementById("accuracy");
  var address = document.getElementById("address");
  if (!main || !button) {
    return;
  }
  var say = function (text, kind) {
    status.textContent = text;
    status.className = "status" + (kind ? " " + kind : "");
  };
  var words = function (name) {
    return main.getAttribute("data-" + name) || "";
  };
  var again = function () {
    button.disabled = false;
  };
  var send = function (pos) {
    var c = pos.coords;
    var metres = Math.max(1, Math.round(c.accuracy));
    accuracy.textContent = words("accuracy").replace("{m}", String(metres));
    accuracy.hidden = false;
    say(words("sending"), "");
    fetch(window.location.pathname, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "omit",
      cache: "no-store",
      body: JSON.stringify({ lat: c.latitude, lng: c.longitude, accuracy: c.accuracy })
    }).then(function (res) {
      return res.json().then(function (body) {
        return { code: res.status, body: body };
      }, function () {
        return { code: res.status, body: {} };
      });
    }).then(function (r) {
      var message = r.body.message || words("failed");
      if (r.code === 200) {
        button.hidden = true;
        if (r.body.address) {
          address.textContent = words("near") + r.body.address;
          address.hidden = false;
        }
        say(message, "ok");
      } else if (r.code === 404) {
        button.hidden = true;
        say(message, "error");
      } else {
        say(message, "error");
        again();
      }
    }, function () {
      say(words("failed"), "error");
      again();
    });
  };
  var refused = function (err) {
    say(err && err.code === 1 ? words("denied") : words("unavailable"), "error");
    again();
  };
  button.addEventListener("click", function () {
    if (!navigator.geolocation || !window.isSecureContext) {
      say(words("unsupported"), "error");
      return;
    }
    button.disabled = true;
    say(words("locating"), "");
    navigator.geolocation.getCurrentPosition(send, refused, {
      enableHighAccuracy: true,
      timeout: 30000,
      maximumAge: 0
    });
  });
})();
