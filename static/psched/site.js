// Small progressive enhancements; every form works without this file.
(function () {
  "use strict";
  var zone = document.getElementById("content").dataset.zone || undefined;

  // Live character count under the compose box (the server counts after trimming too).
  document.querySelectorAll("textarea[data-counter]").forEach(function (area) {
    var counter = area.parentElement.querySelector(".counter");
    if (!counter) return;
    var max = parseInt(counter.dataset.max, 10);
    function update() {
      var left = max - area.value.trim().length;
      counter.textContent = left === 1 || left === -1 ? left + " character left" : left + " characters left";
      counter.classList.toggle("over", left < 0);
    }
    area.setAttribute("aria-describedby", counter.id);
    area.addEventListener("input", update);
    update();
  });

  // A zone field left empty (no zone on the profile) gets the browser's zone.
  document.querySelectorAll("input[data-browser-zone]").forEach(function (input) {
    if (input.value) return;
    try {
      input.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) { /* an old browser: the server takes empty as UTC */ }
  });

  // The profile page offers the browser's zone in one click.
  document.querySelectorAll("button[data-use-zone]").forEach(function (button) {
    var browserZone = "";
    try { browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
    var input = button.form.querySelector("input[list=zones]");
    if (!browserZone || !input || input.value === browserZone) return;
    button.textContent = browserZone;
    button.title = "Use " + browserZone;
    button.addEventListener("click", function () { input.value = browserZone; input.focus(); });
    button.closest("[hidden]").hidden = false;
  });

  // "2026-11-28 03:36:02 CET", as the server writes times (in the profile's zone, else the browser's).
  function formatTime(iso, withDate) {
    var options = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
                    second: "2-digit", hourCycle: "h23", timeZoneName: "short" };
    if (zone) options.timeZone = zone;
    try {
      var parts = {};
      new Intl.DateTimeFormat("en-GB", options).formatToParts(new Date(iso)).forEach(function (part) {
        parts[part.type] = part.value;
      });
      var time = parts.hour + ":" + parts.minute + ":" + parts.second + " " + parts.timeZoneName;
      return withDate ? parts.year + "-" + parts.month + "-" + parts.day + " " + time : time;
    } catch (e) {
      return iso;
    }
  }

  function formatLateness(ms) {
    var sign = ms < 0 ? "−" : "";
    ms = Math.abs(ms);
    if (ms < 1000) return sign + ms + " ms";
    if (ms < 60000) return sign + (ms / 1000).toFixed(1) + " s";
    var seconds = Math.round(ms / 1000);
    return sign + Math.floor(seconds / 60) + " min " + (seconds % 60) + " s";
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;  // never innerHTML: post text is user input
    return node;
  }

  function timeElement(iso, withDate) {
    var node = element("time", "", formatTime(iso, withDate));
    node.setAttribute("datetime", iso);
    return node;
  }

  function postItem(post) {
    var item = element("li", "post new");
    item.id = "post-" + post.id;
    var meta = element("div", "meta");
    var author = element("a", "author", post.author);
    author.href = "?author=" + encodeURIComponent(post.author);
    meta.append(author, " · ", timeElement(post.published_at, true));
    var text = element("p", "text");
    post.text.split("\n").forEach(function (line, index) {
      if (index) text.append(document.createElement("br"));
      text.append(line);
    });
    item.append(meta, text);
    if (post.scheduled_for) {
      var receipt = element("p", "receipt", "Scheduled for ");
      receipt.append(timeElement(post.scheduled_for, true), " · published at ", timeElement(post.published_at, false),
        " · " + formatLateness(post.lateness_ms) + " late" + (post.dispatcher ? " · node " + post.dispatcher : ""));
      item.append(receipt);
    }
    return item;
  }

  // New posts appear at the top of the first page without a reload.
  var list = document.getElementById("posts");
  if (list && list.dataset.poll && window.fetch) {
    var newest = parseInt(list.dataset.newest, 10) || 0;
    var poll = function () {
      fetch(list.dataset.poll, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (page) {
          if (!page) return;
          var fresh = page.results.filter(function (post) { return post.id > newest; });
          if (!fresh.length) return;
          var empty = list.querySelector(".empty");
          if (empty) empty.remove();
          fresh.reverse().forEach(function (post) {
            if (!document.getElementById("post-" + post.id)) list.prepend(postItem(post));
          });
          newest = Math.max.apply(null, [newest].concat(fresh.map(function (post) { return post.id; })));
          list.dataset.newest = String(newest);
        })
        .catch(function () { /* offline for a moment: try again at the next poll */ })
        .then(function () { window.setTimeout(poll, 3000); });
    };
    window.setTimeout(poll, 3000);
  }
})();
