// Small progressive enhancements; every form works without this file.
(function () {
  "use strict";
  var main = document.getElementById("content");
  var pageZone = main.dataset.zone || "";
  var browserZone = "";
  try { browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* an old browser */ }

  // Pages show every time in the profile's zone, else the browser's: the server learns the
  // browser's zone from this cookie. On the first visit the page was drawn in UTC, so it is
  // drawn again once, before anything is typed into it.
  var COOKIE = "psched_zone";
  function cookieZone() {
    var match = document.cookie.match(/(?:^|;\s*)psched_zone=([^;]*)/);
    return match ? match[1] : "";
  }
  if (browserZone && main.dataset.zoneSource !== "profile" && cookieZone() !== browserZone) {
    // IANA names need no quoting in a cookie (letters, digits, "/", "_", "-", "+").
    document.cookie = COOKIE + "=" + browserZone + "; path=/; max-age=31536000; SameSite=Lax";
    var redraw = cookieZone() === browserZone && pageZone !== browserZone &&
      document.querySelector("main time, main input[data-browser-zone]");
    if (redraw && sessionStorage.getItem(COOKIE) !== browserZone) {
      sessionStorage.setItem(COOKIE, browserZone);  // once: never a loop, whatever the server does
      location.replace(location.href);
      return;
    }
  }

  // Live character count under the compose box (the server counts after trimming too). There is
  // no maxlength: a paste is kept whole, and the count says how much is over.
  document.querySelectorAll("textarea[data-counter]").forEach(function (area) {
    var counter = area.parentElement.querySelector(".counter");
    if (!counter) return;
    var max = parseInt(counter.dataset.max, 10);
    if (!(max > 0)) return;  // no limit given: the server's "at most" text stays
    function update() {
      var left = max - area.value.trim().length;
      if (left >= 0) {
        counter.textContent = left === 1 ? "1 character left" : left + " characters left";
      } else {
        counter.textContent = (-left === 1 ? "1 character" : -left + " characters") +
          " over the limit of " + max + ": shorten the text before posting";
      }
      counter.classList.toggle("over", left < 0);
      area.setAttribute("aria-invalid", left < 0 ? "true" : "false");
    }
    var described = (area.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (described.indexOf(counter.id) < 0) described.push(counter.id);
    area.setAttribute("aria-describedby", described.join(" "));
    area.addEventListener("input", update);
    update();
  });

  // A zone field left empty (no zone on the profile, no cookie yet) gets the browser's zone.
  document.querySelectorAll("input[data-browser-zone]").forEach(function (input) {
    if (!input.value && browserZone) input.value = browserZone;
  });

  // The profile page offers the browser's zone in one click.
  document.querySelectorAll("button[data-use-zone]").forEach(function (button) {
    var input = button.form.querySelector("input[list=zones]");
    if (!browserZone || !input || input.value === browserZone) return;
    button.textContent = browserZone;
    button.title = "Use " + browserZone;
    button.addEventListener("click", function () { input.value = browserZone; input.focus(); });
    button.closest("[hidden]").hidden = false;
  });

  // New posts appear without a reload. The server renders them with the feed's own template
  // (feed/_post.html) and says up to where it no longer needs to look (data-cursor): posts
  // are sent again for a while after they are published, since ids are not commit order, and
  // each is added once, in its place by id.
  var list = document.getElementById("posts");
  if (!list || !list.dataset.poll || !window.fetch) return;
  var cursor = list.dataset.cursor;
  var oldest = parseInt(list.dataset.oldest, 10) || 0;

  function postId(item) { return parseInt(item.id.replace("post-", ""), 10); }

  function insert(item) {
    var id = postId(item);
    if (document.getElementById(item.id) || id < oldest) return;  // shown already, or on an older page
    item.classList.add("new");
    var empty = list.querySelector(".empty");
    if (empty) empty.remove();
    var next = Array.prototype.find.call(list.querySelectorAll("li.post"), function (other) { return postId(other) < id; });
    list.insertBefore(item, next || null);
  }

  function poll() {
    var url = list.dataset.poll + (list.dataset.poll.indexOf("?") < 0 ? "?" : "&") + "after=" + encodeURIComponent(cursor);
    fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var holder = document.createElement("template");
        holder.innerHTML = html;  // markup rendered (and escaped) by the server's template
        var answer = holder.content.querySelector("ol[data-cursor]");
        if (!answer) return;
        Array.prototype.slice.call(answer.querySelectorAll("li.post")).reverse().forEach(insert);
        cursor = answer.dataset.cursor;
        list.dataset.cursor = cursor;
      })
      .catch(function () { /* offline for a moment: try again at the next poll */ })
      .then(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 3000);
})();
