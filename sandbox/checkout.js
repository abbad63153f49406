/* The Razorpay sandbox's Checkout: enough of https://checkout.razorpay.com/v1/checkout.js for
   a shop to run offline. `new Razorpay(options).open()` shows a dialog; Pay asks the sandbox
   to make a captured payment for options.order_id, and options.handler receives what real
   Checkout hands it: razorpay_payment_id, razorpay_order_id and razorpay_signature, the
   signature computed by the sandbox (this script computes nothing). Fail makes a failed
   payment and calls the "payment.failed" listeners; Cancel calls options.modal.ondismiss. */
(function () {
  "use strict";

  var script = document.currentScript;
  var sandbox = new URL(script ? script.src : window.location.href).origin;

  function money(amount, currency) {
    var value = (Number(amount) / 100).toLocaleString("en-IN", {
      minimumFractionDigits: 2, maximumFractionDigits: 2
    });
    return value + " " + (currency || "INR");
  }

  function element(tag, text, css) {
    var node = document.createElement(tag);
    if (text) { node.textContent = text; }
    if (css) { node.style.cssText = css; }
    return node;
  }

  function Razorpay(options) {
    if (!(this instanceof Razorpay)) { return new Razorpay(options); }
    if (!options || !options.key) { throw new Error("Razorpay: options.key is required."); }
    this.options = options;
    this.listeners = {};
    this.dialog = null;
  }

  Razorpay.prototype.on = function (name, listener) {
    (this.listeners[name] = this.listeners[name] || []).push(listener);
    return this;
  };

  Razorpay.prototype.emit = function (name, payload) {
    (this.listeners[name] || []).forEach(function (listener) { listener(payload); });
  };

  Razorpay.prototype.close = function () {
    if (this.dialog) {
      this.dialog.remove();
      this.dialog = null;
    }
  };

  Razorpay.prototype.open = function () {
    var self = this;
    var o = this.options;
    if (this.dialog) { return this; }
    var overlay = element("div", "", "position:fixed;inset:0;display:flex;align-items:center;" +
      "justify-content:center;background:rgba(15,23,42,.55);z-index:2147483647;" +
      "font:16px/1.4 system-ui,sans-serif");
    overlay.setAttribute("data-razorpay-sandbox", "");
    var box = element("div", "", "background:#fff;color:#0f172a;border-radius:12px;" +
      "padding:1.25rem 1.5rem;width:min(24rem,90vw);box-shadow:0 20px 50px rgba(0,0,0,.3)");
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-modal", "true");
    box.setAttribute("aria-labelledby", "razorpay-sandbox-title");
    var title = element("h2", "Razorpay sandbox", "margin:0 0 .25rem;font-size:1.1rem");
    title.id = "razorpay-sandbox-title";
    var what = element("p", (o.name || "") + (o.description ? ": " + o.description : ""),
      "margin:.25rem 0");
    var amount = element("p", money(o.amount, o.currency), "margin:.25rem 0;font-size:1.5rem;" +
      "font-weight:700");
    amount.setAttribute("data-testid", "razorpay-sandbox-amount");
    var order = element("p", "Order " + o.order_id, "margin:.25rem 0;color:#64748b;" +
      "font-size:.85rem");
    var note = element("p", "Test mode: no real money moves.", "margin:.25rem 0 .75rem;" +
      "color:#64748b;font-size:.85rem");
    var status = element("p", "", "min-height:1.4em;margin:.25rem 0;color:#b91c1c");
    status.setAttribute("role", "status");
    var buttons = element("div", "", "display:flex;gap:.5rem;justify-content:flex-end");
    var style = "font:inherit;padding:.45rem 1rem;border-radius:6px;cursor:pointer;";
    var pay = element("button", "Pay", style + "background:#2563eb;color:#fff;border:1px solid" +
      " #2563eb");
    var fail = element("button", "Fail", style + "background:#fff;border:1px solid #cbd5e1");
    var cancel = element("button", "Cancel", style + "background:#fff;border:1px solid #cbd5e1");
    [pay, fail, cancel].forEach(function (button) {
      button.type = "button";
      buttons.appendChild(button);
    });
    [title, what, amount, order, note, status, buttons].forEach(function (node) {
      box.appendChild(node);
    });
    overlay.appendChild(box);

    function busy(on) {
      [pay, fail, cancel].forEach(function (button) { button.disabled = on; });
    }

    function attempt(outcome) {
      busy(true);
      status.textContent = outcome === "failed" ? "Failing the payment..." : "Paying...";
      fetch(sandbox + "/sandbox/checkout/pay", {
        method: "POST",
        // text/plain keeps this a simple cross-origin request (no preflight).
        headers: {"Content-Type": "text/plain"},
        body: JSON.stringify({key: o.key, order_id: o.order_id, outcome: outcome})
      }).then(function (response) {
        return response.json();
      }).then(function (answer) {
        if (answer.error) {
          busy(false);
          status.textContent = "Payment failed: " + answer.error.description;
          self.emit("payment.failed", {error: answer.error});
          return;
        }
        self.close();
        if (typeof o.handler === "function") {
          o.handler({
            razorpay_payment_id: answer.razorpay_payment_id,
            razorpay_order_id: answer.razorpay_order_id,
            razorpay_signature: answer.razorpay_signature
          });
        }
      }).catch(function (error) {
        busy(false);
        status.textContent = "The Razorpay sandbox could not be reached: " + error.message;
      });
    }

    pay.addEventListener("click", function () { attempt("captured"); });
    fail.addEventListener("click", function () { attempt("failed"); });
    cancel.addEventListener("click", function () {
      self.close();
      if (o.modal && typeof o.modal.ondismiss === "function") { o.modal.ondismiss(); }
    });
    document.body.appendChild(overlay);
    this.dialog = overlay;
    pay.focus();
    return this;
  };

  window.Razorpay = Razorpay;
})();
