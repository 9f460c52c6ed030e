// The whole public API of runnel.
#pragma once

#include "runnel/array.h"
#include "runnel/device.h"
#include "runnel/dtype.h"
#include "runnel/errors.h"
#include "runnel/event.h"
#include "runnel/memory.h"
#include "runnel/ops.h"
#include "runnel/stream.h"
#include "runnel/transforms.h"
