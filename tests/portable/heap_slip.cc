// Deliberately breaks the portable-core rules (heap allocation) so that a test can prove the
// portability check in cmake/check_portable.cmake catches such a slip. Never linked anywhere.
namespace ironseal::probe {
int* heap_slip() {
  return new int(3);
}
}  // namespace ironseal::probe
