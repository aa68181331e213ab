#pragma once
// What the window says it shows: a live run of a model, or a snapshot of one,
// and which model Generate will use when that is another one. The title and
// the status bar both read it, so they never disagree.
#include <QString>

struct OnScreen {
  enum class Kind { nothing, liveRun, snapshot };
  Kind kind = Kind::nothing;
  QString runModel;       // the model that made the tokens on screen
  QString snapshotFile;   // file name, for a snapshot
  QString generateModel;  // the loaded model; empty when none
};

namespace ScreenCaption {

// "moescope — live run of deepseekmoe-tiny",
// "moescope — snapshot run.json (gshard-tiny) · Generate uses deepseekmoe-tiny".
QString windowTitle(const OnScreen& screen);

// The line above the tokens: "On screen: live run of X", and "· Generate uses Y"
// whenever Generate would not continue what is shown.
QString statusText(const OnScreen& screen);

}  // namespace ScreenCaption
