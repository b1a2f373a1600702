// Scanning with a phone's or a laptop's camera, loaded only when a person
// presses "scanner avec la caméra": the browser's own BarcodeDetector where
// it has one, else the vendored barcode-detector polyfill (ZXing in
// WebAssembly, served from here, never from a CDN). The decoded code goes
// into the scan field and the form is sent, as a USB scanner would.
(function () {
  "use strict";
  var FORMATS = ["code_128", "qr_code"];

  function load(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = src;
      s.onload = resolve;
      s.onerror = function () { reject(new Error("cannot load " + src)); };
      document.head.appendChild(s);
    });
  }

  function make() {
    try {
      return new window.BarcodeDetector({ formats: FORMATS });
    } catch (e) {
      return new window.BarcodeDetector();
    }
  }

  function detector(button) {
    if ("BarcodeDetector" in window) return Promise.resolve(make());
    return load(button.getAttribute("data-poly")).then(function () {
      var api = window.BarcodeDetectionAPI;
      var wasm = button.getAttribute("data-wasm");
      var overrides = {
        locateFile: function (path, prefix) {
          return /\.wasm$/.test(path) ? wasm : prefix + path;
        }
      };
      if (api.prepareZXingModule) {
        api.prepareZXingModule({ overrides: overrides, fireImmediately: true });
      } else if (api.setZXingModuleOverrides) {
        api.setZXingModuleOverrides(overrides);
      }
      return make();
    });
  }

  window.tremplinCamera = function (button, field) {
    var view = document.createElement("div");
    view.className = "camera-view";
    var video = document.createElement("video");
    video.setAttribute("playsinline", "");
    video.muted = true;
    var stop = document.createElement("button");
    stop.type = "button";
    stop.className = "secondary";
    stop.textContent = button.getAttribute("data-stop");
    var status = document.createElement("p");
    status.setAttribute("role", "status");
    view.appendChild(video);
    view.appendChild(stop);
    view.appendChild(status);
    button.parentNode.insertBefore(view, button.nextSibling);
    button.hidden = true;
    var stream = null;
    var done = false;
    function close() {
      done = true;
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
      view.parentNode && view.parentNode.removeChild(view);
      button.hidden = false;
    }
    stop.addEventListener("click", function () {
      close();
      field.focus();
    });
    Promise.all([
      detector(button),
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
    ]).then(function (got) {
      var det = got[0];
      stream = got[1];
      video.srcObject = stream;
      return video.play().then(function () {
        function look() {
          if (done) return;
          det.detect(video).then(function (codes) {
            if (done) return;
            if (codes.length > 0 && codes[0].rawValue) {
              field.value = codes[0].rawValue;
              close();
              if (field.form.requestSubmit) {
                field.form.requestSubmit();
              } else {
                field.form.submit();
              }
              return;
            }
            setTimeout(look, 200);
          }, function () { setTimeout(look, 400); });
        }
        look();
      });
    }).catch(function () {
      status.textContent = button.getAttribute("data-fail");
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    });
  };
})();
