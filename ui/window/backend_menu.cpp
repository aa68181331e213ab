#include "window/backend_menu.h"

#include <QActionGroup>
#include <QSettings>

namespace {

const auto backendKey = QStringLiteral("backend");

}  // namespace

BackendMenu::BackendMenu(QWidget* parent)
    : QMenu(tr("Compute &backend"), parent), group_(new QActionGroup(this)) {
  const QString saved = QSettings().value(backendKey, QStringLiteral("auto")).toString();
  const std::pair<QString, QString> choices[] = {
      {QStringLiteral("auto"), tr("&Automatic (CUDA when a GPU can hold the model)")},
      {QStringLiteral("cpu"), tr("&CPU")},
      {QStringLiteral("cuda"), tr("C&UDA (NVIDIA GPU)")}};
  for (const auto& [key, label] : choices) {
    QAction* action = addAction(label);
    action->setCheckable(true);
    action->setData(key);
    action->setChecked(key == saved);
    group_->addAction(action);
  }
  if (!group_->checkedAction()) group_->actions().constFirst()->setChecked(true);
  connect(group_, &QActionGroup::triggered, this, [this](QAction* action) {
    QSettings().setValue(backendKey, action->data());
    emit chosen(action->data().toString());
  });
}

QString BackendMenu::choice() const {
  return group_->checkedAction()->data().toString();
}

QString backendStatusText(const QString& name, const QString& reason) {
  if (reason.isEmpty() || reason == QLatin1String("asked for")) return name;
  constexpr int longest = 60;  // the whole reason is the label's tooltip
  const QString shown = reason.size() > longest ? reason.left(longest - 1) + QChar(0x2026) : reason;
  return QStringLiteral("%1 · %2").arg(name, shown);
}
