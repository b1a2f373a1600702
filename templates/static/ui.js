// Tremplin's few lines of script. Pages work without them; with them:
// - the scan field keeps the focus: on load it is focused with its text
//   selected, so the next scan (a USB scanner types the code, then Enter)
//   replaces it; the focus comes back to it when nothing else holds it;
// - a panel opened for an action focuses its first field;
// - the "scanner avec la caméra" button appears where a camera can be used
//   (camera.js does the rest, loaded on demand);
// - a form marked data-autosubmit is sent when one of its fields changes;
// - a search field marked data-live redraws its results as one types;
// - a form is sent once: a second click while the page loads does nothing
//   (the form's key makes the server act once anyway).
(function () {
  "use strict";
  var field = null;
  // home is where the focus belongs: the first field of a panel opened
  // for an action, else the scan field.
  function toField() {
    var auto = document.querySelector("details[open] [autofocus]");
    if (auto) {
      auto.focus();
      return;
    }
    if (!field) return;
    field.focus();
    field.select();
  }
  function idle() {
    var a = document.activeElement;
    return !a || a === document.body || a === document.documentElement;
  }
  document.addEventListener("DOMContentLoaded", function () {
    field = document.querySelector("input[data-scan]");
    toField();
    // The camera button shows where a camera can be asked for; its script
    // (and, without a native detector, the polyfill) loads on first use.
    var camera = document.querySelector("button[data-camera]");
    if (camera && field && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
      camera.hidden = false;
      camera.addEventListener("click", function () {
        var start = function () { window.tremplinCamera(camera, field); };
        if (window.tremplinCamera) return start();
        var s = document.createElement("script");
        s.src = camera.getAttribute("data-script");
        s.onload = start;
        document.head.appendChild(s);
      });
    }
    document.addEventListener("focusout", function () {
      setTimeout(function () { if (idle()) toField(); }, 0);
    });
    document.addEventListener("toggle", function (e) {
      var d = e.target;
      if (d.tagName !== "DETAILS") return;
      if (d.open) {
        var first = d.querySelector("input:not([type=hidden]), textarea, select");
        if (first) first.focus();
      } else {
        toField();
      }
    }, true);
    // A table wider than the screen scrolls in its frame: the frame takes
    // the keyboard's focus, so that it can be scrolled without a mouse.
    function scrollables() {
      document.querySelectorAll(".table-wrap").forEach(function (w) {
        if (w.scrollWidth > w.clientWidth) {
          w.setAttribute("tabindex", "0");
        } else {
          w.removeAttribute("tabindex");
        }
      });
    }
    scrollables();
    window.addEventListener("resize", scrollables);
    // A signature pad: a canvas the person draws on with a finger, a pen
    // or the mouse; each stroke copies the drawing, a PNG on white, into
    // the form's hidden field. Without script the "on paper" box remains.
    var pad = document.querySelector("canvas[data-signature]");
    if (pad) {
      var kept = document.getElementById(pad.getAttribute("data-signature"));
      var ink = pad.getContext("2d");
      var clean = function () {
        ink.fillStyle = "#fff";
        ink.fillRect(0, 0, pad.width, pad.height);
        ink.lineWidth = 3;
        ink.lineCap = "round";
        ink.lineJoin = "round";
        ink.strokeStyle = "#000";
      };
      clean();
      if (kept.value) {
        var before = new Image();
        before.onload = function () { ink.drawImage(before, 0, 0); };
        before.src = kept.value;
      }
      var drawing = false;
      var at = function (e) {
        var r = pad.getBoundingClientRect();
        return { x: (e.clientX - r.left) * pad.width / r.width, y: (e.clientY - r.top) * pad.height / r.height };
      };
      pad.addEventListener("pointerdown", function (e) {
        drawing = true;
        if (pad.setPointerCapture) pad.setPointerCapture(e.pointerId);
        var p = at(e);
        ink.beginPath();
        ink.moveTo(p.x, p.y);
        ink.lineTo(p.x + 0.5, p.y + 0.5);
        ink.stroke();
        e.preventDefault();
      });
      pad.addEventListener("pointermove", function (e) {
        if (!drawing) return;
        var p = at(e);
        ink.lineTo(p.x, p.y);
        ink.stroke();
        e.preventDefault();
      });
      var end = function () {
        if (!drawing) return;
        drawing = false;
        kept.value = pad.toDataURL("image/png");
      };
      pad.addEventListener("pointerup", end);
      pad.addEventListener("pointercancel", end);
      var wipe = document.querySelector("[data-signature-clear]");
      if (wipe) wipe.addEventListener("click", function () { clean(); kept.value = ""; });
    }
    // A page asked to print a PDF (« Enregistrer et imprimer ») loads it in
    // a frame out of sight and prints it from there: no new tab takes the
    // focus from the scan field, which has it back once the dialog closes.
    var frame = document.querySelector("iframe[data-print]");
    if (frame) {
      var printed = false;
      var print = function () {
        if (printed) return;
        printed = true;
        try {
          frame.contentWindow.print();
        } catch (e) {
          // the status area's link opens the PDF instead
        }
        toField();
      };
      frame.addEventListener("load", print);
      try {
        var w = frame.contentWindow;
        if (w && w.location.href !== "about:blank" && w.document.readyState === "complete") print();
      } catch (e) {
        // not loaded yet: the load event prints it
      }
    }
    // A form marked data-copy-from="ID" takes, as it is sent, the values of
    // the fields of form ID that share its hidden fields' names: the label
    // sheet prints what its fields say now, even typed a moment ago and not
    // yet redrawn (the PDF once went out with the sheet's old offset).
    document.addEventListener("submit", function (e) {
      var f = e.target, from = f.getAttribute && document.getElementById(f.getAttribute("data-copy-from") || "");
      if (!from) return;
      f.querySelectorAll("input[type=hidden]").forEach(function (h) {
        var src = from.elements[h.name];
        if (src && src.value !== undefined) h.value = src.value;
      });
    }, true);
    // A form marked data-autosubmit follows its fields: a new layout or
    // offset redraws the sheet's picture (and the print form with it).
    document.addEventListener("change", function (e) {
      var f = e.target.form;
      if (f && f.hasAttribute("data-autosubmit")) f.submit();
    });
    // A search field marked data-live="ID" redraws the element ID from
    // its form's answer as the person types (the form still works with
    // Enter and no script).
    var timer = null, asked = 0;
    document.addEventListener("input", function (e) {
      var input = e.target, id = input.getAttribute && input.getAttribute("data-live");
      if (!id || !input.form || !window.fetch) return;
      clearTimeout(timer);
      timer = setTimeout(function () {
        var url = input.form.getAttribute("action") + "?" + new URLSearchParams(new FormData(input.form));
        var mine = ++asked; // an earlier, slower answer must not win
        fetch(url, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
          if (mine !== asked) return;
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(id);
          var here = document.getElementById(id);
          if (fresh && here) here.innerHTML = fresh.innerHTML;
          history.replaceState(null, "", url);
        });
      }, 250);
    });
    document.addEventListener("submit", function (e) {
      var f = e.target;
      if (f.target === "_blank" || f.method.toLowerCase() === "get") return;
      if (f.getAttribute("data-sent")) {
        e.preventDefault();
        return;
      }
      f.setAttribute("data-sent", "1");
    });
  });
  // A page the browser brings back from its history can be sent again.
  window.addEventListener("pageshow", function (e) {
    if (!e.persisted) return;
    var sent = document.querySelectorAll("form[data-sent]");
    for (var i = 0; i < sent.length; i++) sent[i].removeAttribute("data-sent");
  });
})();
