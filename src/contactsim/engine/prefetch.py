"""A software prefetch for compiled loops: ``prefetch(array, i, j)`` asks the CPU to bring the
cache line holding ``array[i, j]`` closer, without waiting for it and without a bounds check
(a prefetch of an address outside the array is harmless: it never faults).

numba's on-disk cache of a compiled function is keyed on its own source file: after changing
this one, touch ``kernel.py`` (or delete its ``__pycache__``) so that the loop is recompiled."""

from __future__ import annotations

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic


@intrinsic
def prefetch(typingctx, array, i, j):
    """``llvm.prefetch`` of ``&array[i, j]`` for reading, into every cache level."""
    def codegen(context, builder, signature, args):
        array_type, i_type, j_type = signature.args
        data = context.make_array(array_type)(context, builder, args[0])
        index = [context.cast(builder, value, kind, types.intp)
                 for value, kind in zip(args[1:], (i_type, j_type))]
        pointer = cgutils.get_item_pointer2(
            context, builder, data.data, cgutils.unpack_tuple(builder, data.shape),
            cgutils.unpack_tuple(builder, data.strides), array_type.layout, index,
            wraparound=False)
        byte_pointer = ir.IntType(8).as_pointer()
        int32 = ir.IntType(32)
        # named after the pointer type by llvmlite, as each LLVM version expects
        function = builder.module.declare_intrinsic(
            "llvm.prefetch", [byte_pointer],
            ir.FunctionType(ir.VoidType(), [byte_pointer, int32, int32, int32]))
        # read (0), highest locality (3), data cache (1)
        builder.call(function, [builder.bitcast(pointer, byte_pointer), int32(0), int32(3),
                                int32(1)])
        return context.get_dummy_value()

    return types.void(array, i, j), codegen
