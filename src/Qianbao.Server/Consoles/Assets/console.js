// Qianbao consoles: progressive enhancement only; every page works without this script.
(function () {
  "use strict";
  // <img data-refresh-ms="30000" src="..."> reloads itself (the payment code changes every minute).
  document.querySelectorAll("img[data-refresh-ms]").forEach(function (img) {
    var ms = Math.max(5000, parseInt(img.getAttribute("data-refresh-ms"), 10) || 30000);
    setInterval(function () {
      var url = new URL(img.src, location.href);
      url.searchParams.set("t", Date.now().toString());
      img.src = url.toString();
    }, ms);
  });
  // <ol data-stream="/wallet/inbox/stream"> prepends each notification the server pushes (Server-Sent Events).
  document.querySelectorAll("[data-stream]").forEach(function (list) {
    if (!window.EventSource) return;
    var source = new EventSource(list.getAttribute("data-stream"));
    source.addEventListener("notification", function (e) {
      var n = JSON.parse(e.data);
      var item = document.createElement("li");
      item.className = "unread";
      item.setAttribute("data-id", n.id);
      var title = document.createElement("strong");
      title.textContent = n.title;
      var body = document.createElement("p");
      body.textContent = n.body;
      item.appendChild(title);
      item.appendChild(body);
      list.insertBefore(item, list.firstChild);
      var empty = document.querySelector("[data-stream-empty]");
      if (empty) empty.remove();
      var counter = document.querySelector("[data-unread]");
      if (counter) counter.textContent = String((parseInt(counter.textContent, 10) || 0) + 1);
    });
  });
  // <button type="button" data-copy="#id" data-copied="Copied"> copies the value (or text) of #id to the clipboard.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.querySelector(button.getAttribute("data-copy"));
      if (!source) return;
      var text = "value" in source ? source.value : source.textContent;
      var done = function () {
        var label = button.textContent;
        button.textContent = button.getAttribute("data-copied") || label;
        setTimeout(function () { button.textContent = label; }, 2000);
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(done, function () { if (source.select) source.select(); });
      } else if (source.select) {
        source.select();
      }
    });
  });
})();
