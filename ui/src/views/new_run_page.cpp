// SPDX-License-Identifier: MIT
#include "new_run_page.h"

#include "train_form.h"

#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace ftw::ui {

NewRunPage::NewRunPage(QWidget* parent) : QWidget(parent)
{
    auto* title = new QLabel(tr("New run"), this);
    title->setObjectName(QStringLiteral("pageTitle"));

    m_trainForm = new TrainForm(this);

    auto* demoBox = new QGroupBox(tr("Demonstration job"), this);
    auto* description = new QLabel(
        tr("Fits a small linear model with LibTorch on the engine thread, records it as a run with "
           "its loss curve, and can be stopped at any step."),
        demoBox);
    description->setWordWrap(true);

    m_steps = new QSpinBox(demoBox);
    m_steps->setObjectName(QStringLiteral("demoSteps"));
    m_steps->setRange(1, 100000);
    m_steps->setValue(200);
    m_steps->setMinimumWidth(120);
    m_steps->setToolTip(tr("Optimiser steps; each step pauses briefly so that you can watch it."));

    m_startDemo = new QPushButton(tr("Start demo job"), demoBox);
    m_startDemo->setObjectName(QStringLiteral("startDemo"));

    auto* form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::FieldsStayAtSizeHint);
    form->addRow(tr("Steps:"), m_steps);

    auto* boxLayout = new QVBoxLayout(demoBox);
    boxLayout->addWidget(description);
    boxLayout->addLayout(form);
    boxLayout->addWidget(m_startDemo, 0, Qt::AlignLeft);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(title);
    layout->addWidget(m_trainForm);
    layout->addWidget(demoBox);
    layout->addStretch(1);

    connect(m_startDemo, &QPushButton::clicked, this,
            [this] { Q_EMIT demoRequested(demoSteps()); });
}

int NewRunPage::demoSteps() const
{
    return m_steps->value();
}

void NewRunPage::setJobRunning(bool isRunning)
{
    m_startDemo->setEnabled(!isRunning);
    m_trainForm->setJobRunning(isRunning);
}

} // namespace ftw::ui
