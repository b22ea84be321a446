// Small progressive enhancements; every form works without this file.
(function () {
  document.querySelectorAll("textarea[data-counter]").forEach(function (area) {
    var counter = area.parentElement.querySelector(".counter");
    if (!counter) return;
    var max = parseInt(counter.dataset.max, 10);
    function update() {
      var left = max - area.value.trim().length;
      counter.textContent = left + " characters left";
      counter.classList.toggle("over", left < 0);
    }
    area.addEventListener("input", update);
    update();
  });
})();
