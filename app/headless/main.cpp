// SPDX-License-Identifier: MIT
// `ftw`: the headless command line. Everything lives in app/cli; this is only the entry point.
#include "cli/cli.h"

#include <ftw/engine.h>

#include <iostream>

int main(int argc, char** argv)
{
    ftw::Engine::restartWithPassiveOpenMpWait(argv);
    return ftw::cli::run(argc, argv, std::cout, std::cerr);
}
