// Commit the seed of a sampling plan: a 32-byte secret seed is generated in the browser
// (crypto.getRandomValues), shown once, and only its commitment SHA-256(seed bytes) goes
// into the form (algorithm suijian-draw/1, random_sampler/seeds.py). The seed never leaves
// the page: it has no form field.
(function () {
  "use strict";
  var box = document.getElementById("seed-generator");
  if (!box || !window.crypto || !window.crypto.subtle) {
    return; // no secure context: the off-line instructions remain
  }
  box.hidden = false;
  function hex(bytes) {
    return Array.prototype.map
      .call(bytes, function (b) { return b.toString(16).padStart(2, "0"); })
      .join("");
  }
  document.getElementById("generate-seed").addEventListener("click", function () {
    var seed = new Uint8Array(32);
    window.crypto.getRandomValues(seed);
    window.crypto.subtle.digest("SHA-256", seed).then(function (digest) {
      document.getElementById("seed-value").textContent = hex(seed);
      document.getElementById("seed-shown").hidden = false;
      document.getElementById("commitment").value = hex(new Uint8Array(digest));
      seed.fill(0);
    });
  });
  document.getElementById("copy-seed").addEventListener("click", function () {
    var text = document.getElementById("seed-value").textContent;
    if (navigator.clipboard) {
      navigator.clipboard.writeText(text);
    }
  });
})();
