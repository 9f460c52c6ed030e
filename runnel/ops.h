// The op constructors, by family.
#pragma once

#include "runnel/ops/creation.h"
#include "runnel/ops/elementwise.h"
#include "runnel/ops/indexing.h"
#include "runnel/ops/linalg.h"
#include "runnel/ops/random.h"
#include "runnel/ops/reduce.h"
#include "runnel/ops/shape.h"
