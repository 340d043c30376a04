#include "proposal.h"
