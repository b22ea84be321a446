// The calendar's moves: drag a post (or a draft) onto another hour or day, or focus it and
// press M, then arrows, then Enter. Each move is shown at once and saved with a PATCH to the
// API; when the server refuses (published already, a time in the past) the post goes back
// where it was and the reason is shown. Without this file every post links to its edit page.
(function () {
  "use strict";
  var root = document.getElementById("calendar");
  if (!root) return;
  var view = root.dataset.view;
  var zone = root.dataset.zone;
  var status = document.getElementById("cal-status");

  // No zone on the profile: draw the calendar in the browser's zone (once; the server
  // ignores a zone it does not know, and then we stay on UTC rather than reload forever).
  if (root.dataset.zoneSource === "default") {
    var browserZone = "";
    try { browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* old browser */ }
    var cookie = "psched_tz=" + browserZone;
    // IANA names are cookie-safe as they are (the server does not URL-decode cookies).
    if (/^[A-Za-z0-9_+\-\/]+$/.test(browserZone) && browserZone !== "UTC" && document.cookie.split("; ").indexOf(cookie) === -1) {
      document.cookie = cookie + "; path=/; max-age=31536000; SameSite=Lax";
      window.location.reload();
      return;
    }
  }

  // A phone opens on one day: seven columns do not fit its width. The Day, Week and Month links
  // name their view, so a week asked for stays a week (and without this file it scrolls).
  if (!/[?&]view=/.test(window.location.search) && view !== "day" && window.matchMedia("(max-width: 48rem)").matches) {
    var dayUrl = new URL(window.location.href);
    dayUrl.searchParams.set("view", "day");
    window.location.replace(dayUrl.href);
    return;
  }

  // The week opens at the current hour (this week) or at 07:00, not at midnight; a week with
  // a DST change opens at midnight, so that its odd hours are in sight.
  var scroller = root.querySelector(".cal-scroll");
  if (scroller && !root.querySelector(".cal-dst")) {
    var now = Date.now();
    var first = targets().filter(function (cell) {
      return cell.classList.contains("today") && new Date(cell.dataset.start).getTime() <= now;
    }).pop();
    var row = first ? first.parentNode.previousElementSibling || first.parentNode
                    : root.querySelectorAll(".cal-week tbody tr")[7];
    var head = root.querySelector(".cal-week thead");
    if (row) scroller.scrollTop = row.offsetTop - (head ? head.offsetHeight : 0);
  }

  function say(message, bad) {
    status.textContent = message;
    status.classList.toggle("bad", !!bad);
  }

  function targets() {
    return Array.prototype.slice.call(root.querySelectorAll("td.cal-cell, td.cal-day"));
  }

  function postText(post) {
    var text = post.querySelector(".cal-text");
    return text ? "“" + text.textContent + "”" : "the post";
  }

  function parts(date) {
    var out = {};
    new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, hourCycle: "h23", hour: "2-digit", minute: "2-digit", second: "2-digit",
      weekday: "short", day: "2-digit", month: "short", year: "numeric", timeZoneName: "short"
    }).formatToParts(date).forEach(function (part) { out[part.type] = part.value; });
    return out;
  }

  // The instant as the calendar zone's wall time with that zone's offset at it, e.g.
  // 2031-07-01T10:15:00+09:00 (exact in a folded hour too: the offset says which one).
  function zonedIso(date) {
    var p = {};
    new Intl.DateTimeFormat("en-CA", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit"
    }).formatToParts(date).forEach(function (part) { p[part.type] = part.value; });
    var year = ("000" + p.year).slice(-4);
    var wall = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
    var minutes = Math.round((wall - Math.floor(date.getTime() / 1000) * 1000) / 60000);
    var sign = minutes < 0 ? "-" : "+";
    minutes = Math.abs(minutes);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return year + "-" + p.month + "-" + p.day + "T" + p.hour + ":" + p.minute + ":" + p.second +
      sign + pad(Math.floor(minutes / 60)) + ":" + pad(minutes % 60);
  }

  // What to send for a post dropped on a target: in the week, the same minutes past the hour
  // as an instant (so a folded hour is exact); in the month, the same local time on that day.
  function patchBody(post, target, origin) {
    if (target.classList.contains("cal-cell")) {
      var offset = 0;
      if (post.dataset.at && origin && origin.dataset.start) {
        offset = new Date(post.dataset.at) - new Date(origin.dataset.start);
      }
      var at = new Date(new Date(target.dataset.start).getTime() + Math.max(0, offset));
      // A draft takes the calendar's zone: its wall time there, with that zone's offset (the
      // server refuses an offset that is not the zone's). A post keeps the zone it was
      // written in: the instant alone, with no timezone, moves it and keeps its zone.
      if (post.dataset.status === "draft") return { publish_at: zonedIso(at), timezone: zone };
      return { publish_at: at.toISOString() };
    }
    return { publish_at: target.dataset.date + "T" + (post.dataset.local || "09:00:00"), timezone: zone };
  }

  function reasonOf(response, body) {
    if (body && body.detail) return body.detail;
    if (body && typeof body === "object") {
      for (var field in body) {
        if (Array.isArray(body[field]) && body[field].length) return body[field][0];
      }
    }
    return "the server answered " + response.status + ".";
  }

  function csrfToken() {
    return root.dataset.csrf || "";
  }

  function showSaved(post, saved) {
    var at = new Date(saved.publish_at);
    var p = parts(at);
    post.dataset.at = saved.publish_at;
    post.dataset.local = p.hour + ":" + p.minute + ":" + p.second;
    post.dataset.zone = saved.timezone;
    post.dataset.status = saved.status;
    post.className = post.className.replace(/\bs-\w+/, "s-" + saved.status);
    var time = post.querySelector(".cal-time");
    var label = time.tagName === "TIME" ? time : document.createElement("time");
    label.className = "cal-time";
    label.setAttribute("datetime", saved.publish_at);
    label.title = p.year + "-" + p.month + "-" + p.day + " " + post.dataset.local + " " + p.timeZoneName;
    label.textContent = p.hour + ":" + p.minute;
    if (label !== time) time.replaceWith(label);
    var state = post.querySelector(".cal-state");
    if (state) state.textContent = state.textContent.replace(/^\w+/, saved.status);
    var link = post.querySelector("a.cal-link");
    if (link) link.href = "/scheduled/" + saved.id + "/edit/";
    return p.weekday + " " + p.day + " " + p.month + " " + p.hour + ":" + p.minute + " " + p.timeZoneName;
  }

  function putBack(post, place) {
    place.parent.insertBefore(post, place.next && place.next.parentNode === place.parent ? place.next : null);
  }

  // An occurrence its series still governs: ask "only this one, or this and the following
  // ones?" in a modal dialog (Escape or Cancel: not moved). Calls answer("this"|"following"|null).
  function askScope(post, answer) {
    var dialog = document.createElement("dialog");
    dialog.className = "cal-scope";
    dialog.setAttribute("aria-labelledby", "cal-scope-title");
    var title = document.createElement("p");
    title.id = "cal-scope-title";
    title.textContent = "Move occurrence " + post.dataset.index + " of series #" + post.dataset.series + ": only this one, or this and the following ones?";
    dialog.appendChild(title);
    var chosen = null;
    [["this", "Only this one"], ["following", "This and the following ones"], ["", "Cancel"]].forEach(function (choice) {
      var button = document.createElement("button");
      button.type = "button";
      button.value = choice[0];
      button.textContent = choice[1];
      if (!choice[0]) button.className = "secondary";
      button.addEventListener("click", function () { chosen = choice[0] || null; dialog.close(); });
      dialog.appendChild(button);
    });
    dialog.addEventListener("close", function () {
      dialog.remove();
      answer(chosen);
    });
    document.body.appendChild(dialog);
    dialog.showModal();
  }

  function clashNote(data) {
    var warnings = (data && data.warnings) || [];
    return warnings.length ? " " + warnings.map(function (w) { return "Clash: " + w.message; }).join(" ") : "";
  }

  // Shows the post in its new place at once, saves it, and puts it back if refused.
  function move(post, target, place) {
    var origin = place.parent.closest("td");
    if (target === origin) {
      putBack(post, place);
      say("Not moved: that is where it already is.");
      return;
    }
    if (post.dataset.series && post.dataset.index) {
      askScope(post, function (scope) {
        if (!scope) {
          putBack(post, place);
          focusLink(post);
          say("Not moved: " + postText(post) + " is back where it was.");
          return;
        }
        if (scope === "following") { moveFollowing(post, target, place); return; }
        save(post, target, place, function () {
          // A post of its own now: its next move asks nothing.
          delete post.dataset.series;
          delete post.dataset.index;
        });
        focusLink(post);
      });
      return;
    }
    save(post, target, place);
  }

  // This and the following ones: the series ends before it and a new one continues from
  // there; many chips change, so the page is drawn again.
  function moveFollowing(post, target, place) {
    var body = patchBody(post, target, place.parent.closest("td"));
    body.scope = "following";
    target.querySelector(".cal-posts").appendChild(post);
    post.classList.add("saving");
    say("Saving " + postText(post) + " and the following occurrences at " + target.dataset.label + "…");
    patch(post, place, "/api/series/" + post.dataset.series + "/occurrences/" + post.dataset.index + "/", body, function (data) {
      say("Moved: series #" + data.id + " continues series #" + data.continues + " from there." + clashNote(data));
      window.setTimeout(function () { window.location.reload(); }, 1500);
    });
  }

  // Sends the PATCH; ok(data) when saved, else the post goes back with the reason.
  function patch(post, place, url, body, ok) {
    fetch(url, {
      method: "PATCH",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        post.classList.remove("saving");
        if (response.ok && data) {
          ok(data);
          return;
        }
        refuse(post, place, "Not moved: " + reasonOf(response, data));
      });
    }).catch(function () {
      post.classList.remove("saving");
      refuse(post, place, "Not moved: the server could not be reached. Try again.");
    });
  }

  function save(post, target, place, saved) {
    var origin = place.parent.closest("td");
    var body = patchBody(post, target, origin);
    target.querySelector(".cal-posts").appendChild(post);
    post.classList.remove("refused");
    post.classList.add("saving");
    var old = post.querySelector(".cal-reason");
    if (old) old.remove();
    say("Saving " + postText(post) + " at " + target.dataset.label + "…");
    patch(post, place, root.dataset.api.replace(/0\/$/, post.dataset.id + "/"), body, function (data) {
      var clash = clashNote(data);
      post.classList.toggle("clash", !!clash);
      say("Moved " + postText(post) + " to " + showSaved(post, data) + "." + clash);
      if (saved) saved(data);
    });
  }

  function refuse(post, place, reason) {
    putBack(post, place);
    post.classList.add("refused");
    var note = document.createElement("span");
    note.className = "cal-reason cal-receipt error";
    note.textContent = reason;  // never innerHTML: the reason may echo input
    (post.querySelector("a.cal-link") || post).appendChild(note);
    say(reason, true);
  }

  function placeOf(post) {
    return { parent: post.parentNode, next: post.nextSibling };
  }

  // --- dragging -------------------------------------------------------------------------
  var dragged = null;
  var dragPlace = null;

  root.querySelectorAll(".cal-post").forEach(function (post) {
    if (post.dataset.status === "cancelled") return;
    post.draggable = true;
    var link = post.querySelector("a");
    if (link) {
      link.draggable = false;
      link.setAttribute("aria-keyshortcuts", "m");
      link.setAttribute("aria-describedby", "cal-move-help");
    }
  });

  root.addEventListener("dragstart", function (event) {
    var post = event.target.closest && event.target.closest(".cal-post");
    if (!post || !post.draggable) return;
    dragged = post;
    dragPlace = placeOf(post);
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", post.dataset.id);
  });
  root.addEventListener("dragend", function () {
    dragged = null;
    root.querySelectorAll(".drop-target").forEach(function (cell) { cell.classList.remove("drop-target"); });
  });
  targets().forEach(function (cell) {
    cell.addEventListener("dragover", function (event) {
      if (!dragged) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      cell.classList.add("drop-target");
    });
    cell.addEventListener("dragleave", function (event) {
      if (!cell.contains(event.relatedTarget)) cell.classList.remove("drop-target");
    });
    cell.addEventListener("drop", function (event) {
      if (!dragged) return;
      event.preventDefault();
      cell.classList.remove("drop-target");
      var post = dragged;
      dragged = null;
      move(post, cell, dragPlace);
    });
  });

  // --- moving with the keyboard ---------------------------------------------------------
  var help = document.createElement("span");
  help.id = "cal-move-help";
  help.hidden = true;
  help.textContent = "Press M to move this post.";
  root.appendChild(help);

  var moving = null;  // {post, place, target}

  function grid() {
    // Week: rows of cells (null where a day has no such hour). Month: rows of days.
    return Array.prototype.map.call(root.querySelectorAll(".cal-week tbody tr, .cal-month tbody tr"), function (row) {
      return Array.prototype.map.call(row.querySelectorAll("td"), function (cell) {
        return cell.classList.contains("cal-none") ? null : cell;
      });
    });
  }

  function positionOf(rows, cell) {
    for (var r = 0; r < rows.length; r++) {
      var c = rows[r].indexOf(cell);
      if (c !== -1) return [r, c];
    }
    return null;
  }

  function step(cell, key) {
    var rows = grid();
    var at = positionOf(rows, cell);
    if (!at) return null;
    var r = at[0], c = at[1];
    var dr = key === "ArrowUp" ? -1 : key === "ArrowDown" ? 1 : 0;
    var dc = key === "ArrowLeft" ? -1 : key === "ArrowRight" ? 1 : 0;
    if (view === "month" && dc) {
      // Across the end of a week row, to the next (or previous) day.
      c += dc;
      if (c < 0) { r -= 1; c = 6; } else if (c > 6) { r += 1; c = 0; }
      return rows[r] ? rows[r][c] : null;
    }
    if (dr) {
      for (var row = r + dr; row >= 0 && row < rows.length; row += dr) {
        if (rows[row][c]) return rows[row][c];  // skips an hour the clocks skip
      }
      return null;
    }
    var col = c + dc;
    if (col < 0 || col >= rows[r].length) return null;
    // A day with no such hour in this row (DST): take its nearest hour above.
    for (var above = r; above >= 0; above--) {
      if (rows[above][col]) return rows[above][col];
    }
    return null;
  }

  function focusLink(post) {
    var link = post.querySelector("a.cal-link");
    if (link) link.focus();
  }

  function startMove(post) {
    var origin = post.closest("td");
    var start = origin || root.querySelector("td.cal-cell:not(.past), td.cal-day");
    if (!start) return;
    moving = { post: post, place: placeOf(post), target: start };
    post.classList.add("moving");
    if (!origin) start.querySelector(".cal-posts").appendChild(post);
    focusLink(post);
    say("Moving " + postText(post) + " from " + start.dataset.label + ". Arrow keys: " +
        (view === "week" ? "up and down an hour, left and right a day" : "left and right a day, up and down a week") +
        ". Enter to save, Escape to cancel.");
  }

  function endMove() {
    var current = moving;
    moving = null;
    current.post.classList.remove("moving");
    return current;
  }

  root.addEventListener("keydown", function (event) {
    var post = event.target.closest && event.target.closest(".cal-post");
    if (!post || !post.draggable) return;
    if (!moving) {
      if ((event.key === "m" || event.key === "M") && !event.ctrlKey && !event.metaKey && !event.altKey) {
        event.preventDefault();
        startMove(post);
      }
      return;
    }
    if (moving.post !== post) return;
    if (event.key === "Escape") {
      event.preventDefault();
      var cancelled = endMove();
      putBack(cancelled.post, cancelled.place);
      focusLink(cancelled.post);
      say("Move cancelled; " + postText(post) + " is back where it was.");
    } else if (event.key === "Enter") {
      event.preventDefault();
      var done = endMove();
      // Put it back first so the move starts from its real place (and returns there if refused).
      putBack(done.post, done.place);
      move(done.post, done.target, done.place);
      focusLink(done.post);
    } else if (/^Arrow/.test(event.key)) {
      event.preventDefault();
      var next = step(moving.target, event.key);
      if (!next) {
        say("Cannot go further: use Previous or Next to reach other " + (view === "week" ? "weeks" : "months") + ".");
        return;
      }
      moving.target = next;
      next.querySelector(".cal-posts").appendChild(post);
      next.scrollIntoView({ block: "nearest", inline: "nearest" });
      focusLink(post);
      say(next.dataset.label + (next.classList.contains("past") ? " (in the past)" : ""));
    }
  });
})();
