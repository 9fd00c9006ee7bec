// Keras GlobalAveragePooling2D: the mean of each channel over height and width.
#pragma once

#include "ops/plan.h"

namespace pomona::model {

// src: N x C x H x W activation. Writes N x C plain floats to the plan's output, through
// scratch_slot when oneDNN pools into a blocked layout.
void global_avg_pool(PlanBuilder& builder, const Operand& src, int scratch_slot);

}  // namespace pomona::model
