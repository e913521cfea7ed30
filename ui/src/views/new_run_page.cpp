// SPDX-License-Identifier: MIT
#include "new_run_page.h"

#include "budget_panel.h"
#include "dataset_preview_panel.h"
#include "model_summary_panel.h"
#include "train_form.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QVBoxLayout>

namespace ftw::ui {

NewRunPage::NewRunPage(QWidget* parent) : QWidget(parent)
{
    auto* title = new QLabel(tr("New run"), this);
    title->setObjectName(QStringLiteral("pageTitle"));

    m_trainForm = new TrainForm(this);
    m_trainForm->setObjectName(QStringLiteral("trainForm"));
    auto* left = new QWidget(this);
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 4, 0);
    leftLayout->addWidget(m_trainForm, 1);
    leftLayout->addWidget(buildDemoRow());

    m_datasetPreview = new DatasetPreviewPanel(this);
    m_datasetPreview->setObjectName(QStringLiteral("datasetPreview"));
    m_modelSummary = new ModelSummaryPanel(this);
    m_modelSummary->setObjectName(QStringLiteral("modelSummary"));
    m_sideTabs = new QTabWidget(this);
    m_sideTabs->setObjectName(QStringLiteral("newRunTabs"));
    m_sideTabs->addTab(m_datasetPreview, tr("Dataset preview"));
    m_sideTabs->addTab(m_modelSummary, tr("Model"));
    m_budget = new BudgetPanel(this);
    m_budget->setObjectName(QStringLiteral("budgetPanel"));
    m_sideTabs->addTab(m_budget, tr("Budget"));

    m_splitter = new QSplitter(Qt::Horizontal, this);
    m_splitter->setObjectName(QStringLiteral("newRunSplitter"));
    m_splitter->setChildrenCollapsible(false);
    m_splitter->addWidget(left);
    m_splitter->addWidget(m_sideTabs);
    m_splitter->setStretchFactor(0, 1);
    m_splitter->setStretchFactor(1, 1);
    m_splitter->setSizes({540, 480});

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(title);
    layout->addWidget(m_splitter, 1);

    connect(m_trainForm, &TrainForm::modelChanged, this, [this] {
        m_modelSummary->showModel(m_trainForm->modelSummary(), m_trainForm->modelError());
    });
    connect(m_trainForm, &TrainForm::specChanged, this, &NewRunPage::updatePreviewRequest);
    connect(m_trainForm, &TrainForm::specChanged, this,
            [this] { m_budget->setSpec(m_trainForm->trainSpec()); });
    connect(m_budget, &BudgetPanel::useMatchRequested, m_trainForm, &TrainForm::setTrainSpec);
    m_budget->setSpec(m_trainForm->trainSpec());
    m_modelSummary->showModel(m_trainForm->modelSummary(), m_trainForm->modelError());
    updatePreviewRequest();
}

QWidget* NewRunPage::buildDemoRow()
{
    auto* row = new QWidget(this);
    row->setObjectName(QStringLiteral("demoJob"));
    row->setToolTip(tr("Fits a small linear model with LibTorch on the engine thread, records it "
                       "as a run with its loss curve, and can be stopped at any step."));
    m_steps = new QSpinBox(row);
    m_steps->setObjectName(QStringLiteral("demoSteps"));
    m_steps->setRange(1, 100000);
    m_steps->setValue(200);
    m_steps->setMinimumWidth(90);
    m_steps->setSuffix(tr(" steps"));
    m_steps->setToolTip(tr("Optimiser steps; each step pauses briefly so that you can watch it."));
    m_startDemo = new QPushButton(tr("Start demo job"), row);
    m_startDemo->setObjectName(QStringLiteral("startDemo"));
    m_startDemo->setToolTip(row->toolTip());
    auto* label = new QLabel(tr("Demonstration job (no model needed):"), row);
    label->setToolTip(row->toolTip());

    auto* layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 6, 0, 0);
    layout->addWidget(label);
    layout->addWidget(m_steps);
    layout->addWidget(m_startDemo);
    layout->addStretch(1);
    connect(m_startDemo, &QPushButton::clicked, this,
            [this] { Q_EMIT demoRequested(demoSteps()); });
    return row;
}

void NewRunPage::updatePreviewRequest()
{
    const auto& summary = m_trainForm->modelSummary();
    m_datasetPreview->setRequest(previewRequestFor(m_trainForm->trainSpec(),
                                                   summary && summary->hasTokenizer,
                                                   DatasetPreviewPanel::kExampleLimit));
}

int NewRunPage::demoSteps() const
{
    return m_steps->value();
}

void NewRunPage::setJobRunning(bool isRunning)
{
    m_startDemo->setEnabled(!isRunning);
    m_trainForm->setJobRunning(isRunning);
    m_budget->setJobRunning(isRunning);
}

} // namespace ftw::ui
