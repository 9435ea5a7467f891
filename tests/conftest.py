import os
import sys
import tempfile
from pathlib import Path

# Tests import shared helpers of other test modules by module name; FINN transforms need a build dir.
sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("FINN_BUILD_DIR", tempfile.mkdtemp(prefix="finn_build_"))
