# Build the Windows one-folder bundle and a .zip:  powershell -File packaging\windows\build.ps1
# NOT built or run on this project's CI (Linux only): reviewed against PyInstaller's documentation.
# The MLX engine does not exist on Windows: the bundle runs with the llama.cpp engine (install the
# `llamacpp` extra first) or a remote OpenAI-compatible server.
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")
$py = if ($env:PYTHON) { $env:PYTHON } else { ".venv\Scripts\python.exe" }
$version = & $py -c "import studio; print(studio.__version__)"
$env:STUDIO_ICON_DIR = Join-Path (Get-Location) "build\icons"

if (-not (Test-Path "resources\runtime\pack")) { & $py scripts\fetch_runtime.py }
& $py scripts\render_icons.py $env:STUDIO_ICON_DIR | Out-Null        # PNGs + artifacts-studio.ico
& $py -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build\pyinstaller `
  packaging\artifacts-studio.spec
if ($LASTEXITCODE -ne 0) { throw "PyInstaller failed" }
if (-not (Get-ChildItem -Recurse dist\artifacts-studio -Filter QtWebEngineProcess.exe)) {
  throw "QtWebEngineProcess.exe is missing from the bundle"
}
& dist\artifacts-studio\artifacts-studio.exe --version
Compress-Archive -Force -Path dist\artifacts-studio -DestinationPath "dist\artifacts-studio-$version-windows-x64.zip"
