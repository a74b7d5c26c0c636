/* CourseGraph SCORM runtime: finds the LMS's API (SCORM 1.2 "API", SCORM 2004 "API_1484_11") in the parent
   windows or the opener, initializes, reports completion and a quiz's score, and terminates once. */
(function () {
  "use strict";
  var version = document.documentElement.getAttribute("data-scorm");
  var apiName = version === "2004" ? "API_1484_11" : "API";

  function findIn(win) {
    var hops = 0;
    while (win && hops < 12) {
      try { if (win[apiName]) { return win[apiName]; } } catch (e) { return null; }
      if (win.parent === win) { break; }
      win = win.parent; hops += 1;
    }
    return null;
  }
  var api = findIn(window) || (window.opener ? findIn(window.opener) : null);
  var started = false, finished = false;

  function call(name12, name2004) {
    if (!api) { return "false"; }
    var args = Array.prototype.slice.call(arguments, 2);
    var fn = api[version === "2004" ? name2004 : name12];
    return fn ? String(fn.apply(api, args)) : "false";
  }
  function set(key, value) { return call("LMSSetValue", "SetValue", key, String(value)); }

  var runtime = {
    connected: !!api,
    start: function () {
      if (!started) { started = call("LMSInitialize", "Initialize", "") === "true"; }
      return started;
    },
    complete: function () {
      if (!runtime.start()) { return false; }
      if (version === "2004") { set("cmi.completion_status", "completed"); }
      else { set("cmi.core.lesson_status", "completed"); }
      call("LMSCommit", "Commit", "");
      return true;
    },
    score: function (percent, passingPercent) {
      if (!runtime.start()) { return false; }
      var passed = percent >= passingPercent;
      if (version === "2004") {
        set("cmi.score.min", 0); set("cmi.score.max", 100); set("cmi.score.raw", percent);
        set("cmi.score.scaled", (percent / 100).toFixed(4));
        set("cmi.completion_status", "completed");
        set("cmi.success_status", passed ? "passed" : "failed");
      } else {
        set("cmi.core.score.min", 0); set("cmi.core.score.max", 100); set("cmi.core.score.raw", percent);
        set("cmi.core.lesson_status", passed ? "passed" : "failed");
      }
      call("LMSCommit", "Commit", "");
      return passed;
    },
    finish: function () {
      if (started && !finished) { finished = true; call("LMSFinish", "Terminate", ""); }
    }
  };
  window.CourseGraphScorm = runtime;
  window.addEventListener("pagehide", runtime.finish);
  window.addEventListener("beforeunload", runtime.finish);

  function answered(field, question) {
    var inputs = field.querySelectorAll("input");
    var chosen = [];
    for (var i = 0; i < inputs.length; i += 1) {
      if ((inputs[i].type === "radio" || inputs[i].type === "checkbox") && inputs[i].checked) { chosen.push(inputs[i].value); }
      if (inputs[i].type === "text") { chosen.push(inputs[i].value.trim()); }
    }
    var correct = question.correct;
    switch (question.type) {
      case "SINGLE_CHOICE":
      case "MULTIPLE_CHOICE":
        var want = correct.map(String).sort().join(","), got = chosen.slice().sort().join(",");
        return chosen.length > 0 && want === got;
      case "TRUE_FALSE":
        return chosen.length === 1 && chosen[0] === String(correct[0]);
      case "SHORT_ANSWER":
        return correct.some(function (a) { return String(a).trim().toLowerCase() === (chosen[0] || "").toLowerCase(); });
      case "NUMERIC":
        var value = parseFloat((chosen[0] || "").replace(",", "."));
        return !isNaN(value) && Math.abs(value - Number(correct[0])) <= Number(correct[1] || 0);
    }
    return false;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("quiz");
    if (!form) { runtime.complete(); return; }
    runtime.start();
    var data = JSON.parse(document.getElementById("quiz-data").textContent);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var total = 0, earned = 0;
      data.questions.forEach(function (question, index) {
        total += question.points;
        var field = form.querySelector('[data-question="' + index + '"]');
        if (field && answered(field, question)) { earned += question.points; }
      });
      var percent = total ? Math.round((earned / total) * 100) : 0;
      var passed = runtime.score(percent, data.passingScore);
      document.getElementById("result").textContent =
        "Score: " + percent + "% — " + (passed ? "passed" : "not passed (" + data.passingScore + "% needed)");
      runtime.finish();
    });
  });
})();
