// Every op, by family.
#pragma once

#include "runnel/ops/creation.h"
#include "runnel/ops/elementwise.h"
#include "runnel/ops/reduce.h"
